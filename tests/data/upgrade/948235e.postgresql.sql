--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: upgrade_src; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA upgrade_src;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: boot_clocks; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.boot_clocks (
    device_id text NOT NULL,
    boot_id text NOT NULL,
    offset_ms bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: checkin_hourly; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkin_hourly (
    day date NOT NULL,
    checkpoint_id text NOT NULL,
    hour smallint NOT NULL,
    ins integer NOT NULL,
    outs integer NOT NULL,
    last_at timestamp with time zone NOT NULL
);


--
-- Name: checkin_ids; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkin_ids (
    event_id uuid NOT NULL,
    scanned_at timestamp with time zone NOT NULL
);


--
-- Name: checkin_people; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkin_people (
    day date NOT NULL,
    checkpoint_id text NOT NULL,
    person text NOT NULL,
    last_at timestamp with time zone NOT NULL,
    last_direction text NOT NULL
);


--
-- Name: checkins; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkins (
    event_id uuid NOT NULL,
    scanned_at timestamp with time zone NOT NULL,
    device_id text NOT NULL,
    checkpoint_id text NOT NULL,
    direction text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    display_name text DEFAULT ''::text NOT NULL,
    mono_ns bigint NOT NULL,
    boot_id text NOT NULL,
    time_synced boolean NOT NULL,
    firmware text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT checkins_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT checkins_kind_check CHECK ((kind = ANY (ARRAY['vhd'::text, 'cccd'::text])))
)
PARTITION BY RANGE (scanned_at);


--
-- Name: checkins_default; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkins_default (
    event_id uuid NOT NULL,
    scanned_at timestamp with time zone NOT NULL,
    device_id text NOT NULL,
    checkpoint_id text NOT NULL,
    direction text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    display_name text DEFAULT ''::text NOT NULL,
    mono_ns bigint NOT NULL,
    boot_id text NOT NULL,
    time_synced boolean NOT NULL,
    firmware text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT checkins_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT checkins_kind_check CHECK ((kind = ANY (ARRAY['vhd'::text, 'cccd'::text])))
);


--
-- Name: checkins_unplaced; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkins_unplaced (
    event_id uuid NOT NULL,
    device_id text NOT NULL,
    boot_id text NOT NULL,
    body text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: checkins_y2026m11; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkins_y2026m11 (
    event_id uuid NOT NULL,
    scanned_at timestamp with time zone NOT NULL,
    device_id text NOT NULL,
    checkpoint_id text NOT NULL,
    direction text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    display_name text DEFAULT ''::text NOT NULL,
    mono_ns bigint NOT NULL,
    boot_id text NOT NULL,
    time_synced boolean NOT NULL,
    firmware text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT checkins_direction_check CHECK ((direction = ANY (ARRAY['in'::text, 'out'::text]))),
    CONSTRAINT checkins_kind_check CHECK ((kind = ANY (ARRAY['vhd'::text, 'cccd'::text])))
);


--
-- Name: checkpoints; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.checkpoints (
    checkpoint_id text NOT NULL,
    name text NOT NULL,
    address text DEFAULT ''::text NOT NULL,
    contact_phone text DEFAULT ''::text NOT NULL,
    unit text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    kind text DEFAULT ''::text NOT NULL
);


--
-- Name: declarations; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.declarations (
    declaration_id text NOT NULL,
    full_name text NOT NULL,
    citizen_id text,
    birth_year integer,
    sex text,
    phone text,
    insurance_no text,
    on_behalf_of text,
    declared_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    owner_phone text,
    passport text,
    nationality text,
    province text,
    district text,
    commune text,
    address_line text,
    symptoms boolean DEFAULT false NOT NULL,
    exposure boolean DEFAULT false NOT NULL,
    travel boolean DEFAULT false NOT NULL,
    CONSTRAINT declarations_sex_check CHECK ((sex = ANY (ARRAY['M'::text, 'F'::text])))
);


--
-- Name: devices; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.devices (
    device_id text NOT NULL,
    checkpoint_id text NOT NULL,
    online boolean DEFAULT false NOT NULL,
    last_seen timestamp with time zone,
    queue_depth integer,
    oldest_unsent_s double precision,
    time_synced boolean,
    firmware text,
    telemetry jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: schema_migrations; Type: TABLE; Schema: upgrade_src; Owner: -
--

CREATE TABLE upgrade_src.schema_migrations (
    version integer NOT NULL
);


--
-- Name: checkins_default; Type: TABLE ATTACH; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins ATTACH PARTITION upgrade_src.checkins_default DEFAULT;


--
-- Name: checkins_y2026m11; Type: TABLE ATTACH; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins ATTACH PARTITION upgrade_src.checkins_y2026m11 FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00');


--
-- Data for Name: boot_clocks; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.boot_clocks (device_id, boot_id, offset_ms, updated_at) FROM stdin;
\.


--
-- Data for Name: checkin_hourly; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkin_hourly (day, checkpoint_id, hour, ins, outs, last_at) FROM stdin;
2026-11-10	CP-U1	11	0	1	2026-11-10 04:15:00+00
2026-11-11	CP-U1	8	0	1	2026-11-11 01:15:00+00
2026-11-10	CP-U1	9	1	0	2026-11-10 02:15:00+00
2026-11-10	CP-U1	8	0	1	2026-11-10 01:15:00+00
2026-11-10	CP-U1	13	1	0	2026-11-10 06:15:00+00
2026-11-11	CP-U1	9	1	0	2026-11-11 02:15:00+00
2026-11-11	CP-U1	11	0	1	2026-11-11 04:15:00+00
2026-11-11	CP-U1	10	1	0	2026-11-11 03:15:00+00
2026-11-10	CP-U1	10	1	0	2026-11-10 03:15:00+00
2026-11-10	CP-U1	12	1	0	2026-11-10 05:15:00+00
\.


--
-- Data for Name: checkin_ids; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkin_ids (event_id, scanned_at) FROM stdin;
0190a000-0000-7000-8000-000000000000	2026-11-10 01:15:00+00
0190a000-0000-7000-8000-000000000001	2026-11-10 02:15:00+00
0190a000-0000-7000-8000-000000000002	2026-11-10 03:15:00+00
0190a000-0000-7000-8000-000000000003	2026-11-10 04:15:00+00
0190a000-0000-7000-8000-000000000004	2026-11-10 05:15:00+00
0190a000-0000-7000-8000-000000000005	2026-11-10 06:15:00+00
0190a000-0000-7000-8000-000000000006	2026-11-11 01:15:00+00
0190a000-0000-7000-8000-000000000007	2026-11-11 02:15:00+00
0190a000-0000-7000-8000-000000000008	2026-11-11 03:15:00+00
0190a000-0000-7000-8000-000000000009	2026-11-11 04:15:00+00
\.


--
-- Data for Name: checkin_people; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkin_people (day, checkpoint_id, person, last_at, last_direction) FROM stdin;
2026-11-10	CP-U1	VHD-2026-000000	2026-11-10 05:15:00+00	in
2026-11-10	CP-U1	VHD-2026-000001	2026-11-10 06:15:00+00	in
2026-11-10	CP-U1	VHD-2026-000002	2026-11-10 03:15:00+00	in
2026-11-10	CP-U1	VHD-2026-000003	2026-11-10 04:15:00+00	out
2026-11-11	CP-U1	VHD-2026-000000	2026-11-11 03:15:00+00	in
2026-11-11	CP-U1	VHD-2026-000001	2026-11-11 04:15:00+00	out
2026-11-11	CP-U1	VHD-2026-000002	2026-11-11 01:15:00+00	out
2026-11-11	CP-U1	VHD-2026-000003	2026-11-11 02:15:00+00	in
\.


--
-- Data for Name: checkins_default; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkins_default (event_id, scanned_at, device_id, checkpoint_id, direction, kind, subject, display_name, mono_ns, boot_id, time_synced, firmware, received_at) FROM stdin;
\.


--
-- Data for Name: checkins_unplaced; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkins_unplaced (event_id, device_id, boot_id, body, received_at) FROM stdin;
\.


--
-- Data for Name: checkins_y2026m11; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkins_y2026m11 (event_id, scanned_at, device_id, checkpoint_id, direction, kind, subject, display_name, mono_ns, boot_id, time_synced, firmware, received_at) FROM stdin;
0190a000-0000-7000-8000-000000000000	2026-11-10 01:15:00+00	gate-u-01	CP-U1	out	vhd	VHD-2026-000000	Nguyễn Văn A	1000	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000001	2026-11-10 02:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000001	Nguyễn Văn A	1001	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000002	2026-11-10 03:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000002	Nguyễn Văn A	1002	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000003	2026-11-10 04:15:00+00	gate-u-01	CP-U1	out	vhd	VHD-2026-000003	Nguyễn Văn A	1003	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000004	2026-11-10 05:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000000	Nguyễn Văn A	1004	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000005	2026-11-10 06:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000001	Nguyễn Văn A	1005	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000006	2026-11-11 01:15:00+00	gate-u-01	CP-U1	out	vhd	VHD-2026-000002	Nguyễn Văn A	1006	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000007	2026-11-11 02:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000003	Nguyễn Văn A	1007	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000008	2026-11-11 03:15:00+00	gate-u-01	CP-U1	in	vhd	VHD-2026-000000	Nguyễn Văn A	1008	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
0190a000-0000-7000-8000-000000000009	2026-11-11 04:15:00+00	gate-u-01	CP-U1	out	vhd	VHD-2026-000001	Nguyễn Văn A	1009	boot-1	t	0.1.0	2026-11-29 16:53:05.103467+00
\.


--
-- Data for Name: checkpoints; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.checkpoints (checkpoint_id, name, address, contact_phone, unit, created_at, kind) FROM stdin;
CP-U1	Chợ Bến Thành - Cổng 1			BQL Chợ Bến Thành	2026-11-29 16:53:05.101694+00	
\.


--
-- Data for Name: declarations; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.declarations (declaration_id, full_name, citizen_id, birth_year, sex, phone, insurance_no, on_behalf_of, declared_at, expires_at, owner_phone, passport, nationality, province, district, commune, address_line, symptoms, exposure, travel) FROM stdin;
\.


--
-- Data for Name: devices; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.devices (device_id, checkpoint_id, online, last_seen, queue_depth, oldest_unsent_s, time_synced, firmware, telemetry, created_at, revoked_at) FROM stdin;
gate-u-01	CP-U1	f	\N	\N	\N	\N	\N	\N	2026-11-29 16:53:05.102349+00	\N
\.


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: upgrade_src; Owner: -
--

COPY upgrade_src.schema_migrations (version) FROM stdin;
1
2
3
4
5
6
7
\.


--
-- Name: boot_clocks boot_clocks_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.boot_clocks
    ADD CONSTRAINT boot_clocks_pkey PRIMARY KEY (device_id, boot_id);


--
-- Name: checkin_hourly checkin_hourly_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkin_hourly
    ADD CONSTRAINT checkin_hourly_pkey PRIMARY KEY (day, checkpoint_id, hour);


--
-- Name: checkin_ids checkin_ids_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkin_ids
    ADD CONSTRAINT checkin_ids_pkey PRIMARY KEY (event_id);


--
-- Name: checkin_people checkin_people_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkin_people
    ADD CONSTRAINT checkin_people_pkey PRIMARY KEY (day, checkpoint_id, person);


--
-- Name: checkins checkins_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins
    ADD CONSTRAINT checkins_pkey PRIMARY KEY (event_id, scanned_at);


--
-- Name: checkins_default checkins_default_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins_default
    ADD CONSTRAINT checkins_default_pkey PRIMARY KEY (event_id, scanned_at);


--
-- Name: checkins_unplaced checkins_unplaced_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins_unplaced
    ADD CONSTRAINT checkins_unplaced_pkey PRIMARY KEY (event_id);


--
-- Name: checkins_y2026m11 checkins_y2026m11_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkins_y2026m11
    ADD CONSTRAINT checkins_y2026m11_pkey PRIMARY KEY (event_id, scanned_at);


--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (checkpoint_id);


--
-- Name: declarations declarations_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.declarations
    ADD CONSTRAINT declarations_pkey PRIMARY KEY (declaration_id);


--
-- Name: devices devices_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.devices
    ADD CONSTRAINT devices_pkey PRIMARY KEY (device_id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: checkin_ids_time; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkin_ids_time ON upgrade_src.checkin_ids USING btree (scanned_at);


--
-- Name: checkins_checkpoint_time; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_checkpoint_time ON ONLY upgrade_src.checkins USING btree (checkpoint_id, scanned_at);


--
-- Name: checkins_default_checkpoint_id_scanned_at_idx; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_default_checkpoint_id_scanned_at_idx ON upgrade_src.checkins_default USING btree (checkpoint_id, scanned_at);


--
-- Name: checkins_subject_time; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_subject_time ON ONLY upgrade_src.checkins USING btree (subject, scanned_at);


--
-- Name: checkins_default_subject_scanned_at_idx; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_default_subject_scanned_at_idx ON upgrade_src.checkins_default USING btree (subject, scanned_at);


--
-- Name: checkins_unplaced_boot; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_unplaced_boot ON upgrade_src.checkins_unplaced USING btree (device_id, boot_id);


--
-- Name: checkins_y2026m11_checkpoint_id_scanned_at_idx; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_y2026m11_checkpoint_id_scanned_at_idx ON upgrade_src.checkins_y2026m11 USING btree (checkpoint_id, scanned_at);


--
-- Name: checkins_y2026m11_subject_scanned_at_idx; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX checkins_y2026m11_subject_scanned_at_idx ON upgrade_src.checkins_y2026m11 USING btree (subject, scanned_at);


--
-- Name: declarations_citizen; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX declarations_citizen ON upgrade_src.declarations USING btree (citizen_id);


--
-- Name: declarations_owner; Type: INDEX; Schema: upgrade_src; Owner: -
--

CREATE INDEX declarations_owner ON upgrade_src.declarations USING btree (owner_phone);


--
-- Name: checkins_default_checkpoint_id_scanned_at_idx; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_checkpoint_time ATTACH PARTITION upgrade_src.checkins_default_checkpoint_id_scanned_at_idx;


--
-- Name: checkins_default_pkey; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_pkey ATTACH PARTITION upgrade_src.checkins_default_pkey;


--
-- Name: checkins_default_subject_scanned_at_idx; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_subject_time ATTACH PARTITION upgrade_src.checkins_default_subject_scanned_at_idx;


--
-- Name: checkins_y2026m11_checkpoint_id_scanned_at_idx; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_checkpoint_time ATTACH PARTITION upgrade_src.checkins_y2026m11_checkpoint_id_scanned_at_idx;


--
-- Name: checkins_y2026m11_pkey; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_pkey ATTACH PARTITION upgrade_src.checkins_y2026m11_pkey;


--
-- Name: checkins_y2026m11_subject_scanned_at_idx; Type: INDEX ATTACH; Schema: upgrade_src; Owner: -
--

ALTER INDEX upgrade_src.checkins_subject_time ATTACH PARTITION upgrade_src.checkins_y2026m11_subject_scanned_at_idx;


--
-- Name: devices devices_checkpoint_id_fkey; Type: FK CONSTRAINT; Schema: upgrade_src; Owner: -
--

ALTER TABLE ONLY upgrade_src.devices
    ADD CONSTRAINT devices_checkpoint_id_fkey FOREIGN KEY (checkpoint_id) REFERENCES upgrade_src.checkpoints(checkpoint_id);


--
-- PostgreSQL database dump complete
--


