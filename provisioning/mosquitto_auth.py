"""Broker logins and ACLs through mosquitto's dynamic security plugin: its first config, and its API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time

from common import jsontext
from common.errors import UserError
from protocol.topics import DELETED_DECLARATIONS, PREFIX

ITERATIONS = 101  # what mosquitto_ctrl uses for the plugin's PBKDF2-SHA512 hashes
BRIDGE_USER = "vhd-bridge"
ADMIN_USER = "vhd-admin"
BRIDGE_GROUP = "vhd-bridge"  # the bridges' shared subscription group
CONTROL = "$CONTROL/dynamic-security/v1"
GATE_SENDS = ("events", "status", "telemetry")
GATE_READS = ("ack", "config", "cmd")


class BrokerAuthError(UserError):
    """The broker's security plugin refused a change, or could not be reached."""


def new_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> dict:
    """A client's password as the dynamic security plugin stores it."""
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return {"password": base64.b64encode(digest).decode(), "salt": base64.b64encode(salt).decode(),
            "iterations": iterations}


def check_password(password: str, stored: dict) -> bool:
    mine = hash_password(password, base64.b64decode(stored["salt"]), int(stored["iterations"]))
    return hmac.compare_digest(mine["password"], stored["password"])


def _acl(kind: str, topic: str) -> dict:
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": True}


def gate_acls(device_id: str) -> list[dict]:
    """A gate writes only its own events, status and telemetry and reads only its own acks,
    config and commands, and the declarations deleted at the centre (one list for every gate).
    The plugin checks subscriptions too: a gate cannot subscribe to the bridges' shared
    subscription, or anything else, and so cannot take other gates' events."""
    own = f"{PREFIX}/{device_id}"
    return ([_acl("publishClientSend", f"{own}/{c}") for c in GATE_SENDS]
            + [_acl("subscribeLiteral", f"{own}/{c}") for c in GATE_READS]
            + [_acl("publishClientReceive", f"{own}/{c}") for c in GATE_READS]
            + [_acl(kind, DELETED_DECLARATIONS) for kind in ("subscribeLiteral", "publishClientReceive")])


def bridge_acls(group: str = BRIDGE_GROUP) -> list[dict]:
    """Bridges share events and telemetry; status is retained, so each reads it plainly. They
    publish the deleted declarations' list."""
    gates = f"{PREFIX}/+"
    return ([_acl("subscribePattern", f"$share/{group}/{gates}/{c}") for c in ("events", "telemetry")]
            + [_acl("subscribePattern", f"{gates}/status")]
            + [_acl("publishClientReceive", f"{gates}/{c}") for c in GATE_SENDS]
            + [_acl("publishClientSend", f"{gates}/{c}") for c in GATE_READS]
            + [_acl("publishClientSend", DELETED_DECLARATIONS)])


def admin_acls() -> list[dict]:
    return [_acl("publishClientSend", f"{CONTROL}/#"), _acl("publishClientReceive", f"{CONTROL}/#"),
            _acl("subscribePattern", f"{CONTROL}/#")]


def with_current_acls(state: dict) -> int:
    """A plugin state a release made before, given what this release's roles grant (the gates'
    and the bridges' reading and publishing the deleted declarations' list) and nothing taken
    away; returns how many ACLs were added. Roles and clients stay as they are."""
    added = 0
    for role in state.get("roles", []):
        name = role.get("rolename", "")
        wanted = (bridge_acls() if name == "vhd-bridge"
                  else gate_acls(name[len("gate-"):]) if name.startswith("gate-") else [])
        have = {(a.get("acltype"), a.get("topic")) for a in role.setdefault("acls", [])}
        for acl in wanted:
            if (acl["acltype"], acl["topic"]) not in have:
                role["acls"].append(acl)
                added += 1
    return added


def upgrade_state_file(path) -> int:
    """with_current_acls() on the plugin's state file, written back (private) if it changed;
    BrokerAuthError if it cannot be read."""
    from common.files import write_private

    try:
        state = jsontext.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BrokerAuthError(f"cannot read the broker's plugin state {path}: {exc}") from None
    added = with_current_acls(state)
    if added:
        write_private(path, json.dumps(state, indent=1))
    return added


def initial_config(admin_password: str, bridge_password: str, group: str = BRIDGE_GROUP) -> dict:
    """The plugin's first state: an administrator (for enrolling gates while the broker runs)
    and the bridges' login; everything not granted is refused."""
    return {
        "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": False,
                             "subscribe": False, "unsubscribe": True},
        "clients": [
            {"username": ADMIN_USER, "textName": "VHD provisioning", "roles": [{"rolename": "vhd-admin"}],
             **hash_password(admin_password)},
            {"username": BRIDGE_USER, "textName": "VHD bridges", "roles": [{"rolename": "vhd-bridge"}],
             **hash_password(bridge_password)},
        ],
        "groups": [],
        "roles": [{"rolename": "vhd-admin", "acls": admin_acls()},
                  {"rolename": "vhd-bridge", "acls": bridge_acls(group)}],
    }


class DynsecAdmin:
    """Commands to the running broker's security plugin over its MQTT API: a gate enrolled now
    can log in now, with no restart."""

    def __init__(self, link_factory, timeout: float = 10.0):
        self._responses: dict[str, dict] = {}
        self._cond = threading.Condition()
        self.timeout = timeout
        self.link = link_factory(on_connect=self._connected, on_message=self._message)

    def _connected(self) -> None:
        self.link.subscribe([(f"{CONTROL}/response", 1)])

    def _message(self, topic: str, payload: bytes) -> None:
        try:
            data = jsontext.loads(payload)
        except ValueError:
            return
        with self._cond:
            for r in data.get("responses", []) if isinstance(data, dict) else []:
                if isinstance(r, dict) and isinstance(r.get("correlationData"), str):
                    self._responses[r["correlationData"]] = r
            self._cond.notify_all()

    def __enter__(self) -> DynsecAdmin:
        from drivers.mqtt import MqttError

        self.link.connect()
        self.link.loop_start()
        deadline = time.monotonic() + self.timeout
        while not self.link.connected and time.monotonic() < deadline:
            if self.link.last_error:
                break
            time.sleep(0.02)
        if not self.link.connected:
            self.link.loop_stop()
            raise MqttError(f"cannot log in to the broker as {ADMIN_USER}: {self.link.last_error or 'no answer'}")
        time.sleep(0.2)  # the response subscription is in place
        return self

    def __exit__(self, *exc) -> None:
        self.link.disconnect()
        self.link.loop_stop()

    def run(self, command: str, ok_if: tuple[str, ...] = (), **fields) -> dict:
        tag = secrets.token_hex(8)
        body = {"commands": [{"command": command, "correlationData": tag, **fields}]}
        self.link.publish(CONTROL, json.dumps(body).encode(), qos=1)
        with self._cond:
            if not self._cond.wait_for(lambda: tag in self._responses, self.timeout):
                raise BrokerAuthError(f"the broker did not answer {command}: is the dynamic security "
                                      "plugin loaded (vhd-provision broker-config)?")
            response = self._responses.pop(tag)
        error = response.get("error")
        if error and not any(text in str(error) for text in ok_if):
            raise BrokerAuthError(f"broker refused {command}: {error}")
        return response

    def add_gate(self, device_id: str, password: str) -> None:
        role = f"gate-{device_id}"
        self.run("createRole", ok_if=("already exists",), rolename=role, acls=gate_acls(device_id))
        self.run("createClient", username=device_id, password=password, roles=[{"rolename": role}],
                 textName=f"VHD gate {device_id}")

    def remove_gate(self, device_id: str) -> None:
        self.run("deleteClient", ok_if=("not found",), username=device_id)
        self.run("deleteRole", ok_if=("not found",), rolename=f"gate-{device_id}")
