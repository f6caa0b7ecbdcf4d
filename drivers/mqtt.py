"""MQTT v5 through paho-mqtt 2.x behind a small interface; paho types stay in here."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol
from urllib.parse import unquote, urlparse

from common.errors import UserError

logger = logging.getLogger(__name__)


class MqttError(UserError):
    """The broker cannot be reached or refused us."""


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        u = urlparse(url)
        if u.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {url!r}")
        if not u.hostname:
            raise ValueError("broker URL has no host")
        tls = u.scheme == "mqtts"
        try:
            port = u.port
        except ValueError:
            port = 0
        if port == 0:  # out of range, or 0, which would have meant the default port
            raise ValueError("broker URL has a bad port")
        port = port or (8883 if tls else 1883)
        return cls(u.hostname, port, tls, unquote(u.username) if u.username else None,
                   unquote(u.password) if u.password else None)

    def __str__(self) -> str:  # never shows credentials
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class Published:
    """A queued message: whether the broker has it yet (PUBACK for QoS 1)."""

    def __init__(self, info):
        self._info = info

    def is_published(self) -> bool:
        return self._info.is_published()

    def wait_for_publish(self, timeout: float) -> bool:
        """Block until published or `timeout`; needs a running network loop (loop_start)."""
        try:
            self._info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):  # paho: not queued any more / disconnected
            return False
        return self._info.is_published()


class MqttLink:
    """One MQTT v5 connection. Callbacks get plain str/bytes; every callback body is guarded,
    since an exception escaping into paho kills its network loop."""

    def __init__(self, client_id: str, url: BrokerUrl, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None, will: Will | None = None,
                 clean_start: bool = False, session_expiry: int = 3600, keepalive: int = 30,
                 max_inflight: int = 20, max_queued: int = 0,
                 on_connect: Callable[[], None] = lambda: None,
                 on_disconnect: Callable[[str], None] = lambda reason: None,
                 on_message: Callable[[str, bytes], None] = lambda t, p: None,
                 auto_reconnect: bool = False):
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self._mqtt = mqtt
        self.url = url
        self.keepalive = keepalive
        self.clean_start = clean_start
        self._props = Properties(PacketTypes.CONNECT)
        self._props.SessionExpiryInterval = session_expiry
        self.on_connect, self.on_disconnect, self.on_message = on_connect, on_disconnect, on_message
        self.connected = False
        self.last_error = ""
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                        reconnect_on_failure=auto_reconnect)
        user = username or url.username
        if user:
            c.username_pw_set(user, password if password is not None else url.password)
        if url.tls:
            c.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        if will:
            c.will_set(will.topic, will.payload, will.qos, will.retain)
        c.max_inflight_messages_set(max_inflight)
        c.max_queued_messages_set(max_queued)
        c.reconnect_delay_set(1, 30)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_connect_fail = self._on_connect_fail
        c.on_subscribe = self._on_subscribe
        self.subscribed = 0  # SUBACKs since the last CONNACK: subscriptions are in place
        self._failing = False
        self._c = c

    # paho callbacks -------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        try:
            if reason_code.is_failure:
                self.connected = False
                self.last_error = f"broker refused the connection: {reason_code}"
                logger.warning("%s: %s", self.url, self.last_error)
                return
            self.connected = True
            self.subscribed = 0
            self.last_error = ""
            if self._failing:
                logger.info("broker %s reachable again", self.url)
            self._failing = False
            self.on_connect()
        except Exception:
            logger.exception("on_connect handler failed")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.subscribed += 1

    def _on_connect_fail(self, client, userdata):
        # paho's own reconnect loop (auto_reconnect) could not reach the broker: say so once
        # per outage, not at every retry.
        try:
            if not self._failing:
                logger.warning("waiting for the broker at %s (paho retries with backoff)", self.url)
            self._failing = True
        except Exception:
            pass

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        try:
            self.connected = False
            self.on_disconnect(str(reason_code))
        except Exception:
            logger.exception("on_disconnect handler failed")

    def _on_message(self, client, userdata, message):
        try:
            self.on_message(message.topic, message.payload)
        except Exception:
            logger.exception("message handler failed on %s", message.topic)

    # operations -----------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the TCP/TLS connection and send CONNECT; CONNACK arrives through loop()."""
        self.last_error = ""  # a refusal from an earlier attempt says nothing about this one
        self.connected = False
        try:
            self._c.connect(self.url.host, self.url.port, self.keepalive,
                            clean_start=self.clean_start, properties=self._props)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise MqttError(f"cannot reach broker {self.url}: {exc}") from exc

    def loop(self, timeout: float = 0.1) -> bool:
        """Run network I/O once; False when the connection is gone."""
        rc = self._c.loop(timeout)
        return rc == self._mqtt.MQTT_ERR_SUCCESS

    def loop_start(self) -> None:
        self._c.loop_start()

    def loop_stop(self) -> None:
        self._c.loop_stop()

    def connect_async(self) -> None:
        self._c.connect_async(self.url.host, self.url.port, self.keepalive,
                              clean_start=self.clean_start, properties=self._props)

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        self._c.subscribe(topics)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> Published | None:
        """Queue a message; None when it could not be queued (not connected)."""
        info = self._c.publish(topic, payload, qos=qos, retain=retain)
        return Published(info) if info.rc == self._mqtt.MQTT_ERR_SUCCESS else None

    def drop_pending(self) -> int:
        """Forget QoS 1/2 messages the broker has not acknowledged, instead of paho sending them
        again after a reconnect; for a client that resends from its own store (call in on_connect)."""
        return len(self._c.drop_out_messages())

    def disconnect(self) -> None:
        try:
            self._c.disconnect()
        except Exception:  # already gone
            pass


class Link(Protocol):
    """What the uplink and the bridge need of an MQTT connection."""

    connected: bool
    last_error: str
    subscribed: int

    def connect(self) -> None: ...

    def connect_async(self) -> None: ...

    def loop(self, timeout: float = 0.1) -> bool: ...

    def loop_start(self) -> None: ...

    def loop_stop(self) -> None: ...

    def subscribe(self, topics: list[tuple[str, int]]) -> None: ...

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> Published | None: ...

    def disconnect(self) -> None: ...

    def drop_pending(self) -> int: ...


class LinkFactory(Protocol):
    """Makes a link that calls back into its owner: the owner passes its handlers."""

    def __call__(self, *, on_connect: Callable[[], None], on_disconnect: Callable[[str], None],
                 on_message: Callable[[str, bytes], None]) -> Link: ...


def mqtt_link(client_id: str, url: BrokerUrl, **options) -> LinkFactory:
    """A factory of real paho links with these options (TLS, login, session, inflight...)."""
    return partial(MqttLink, client_id, url, **options)


@dataclass
class _Sent:
    def is_published(self) -> bool:
        return True

    def wait_for_publish(self, timeout: float) -> bool:
        return True


@dataclass
class RecordingLink:
    """A fake link that records what its owner published and subscribed to, and delivers what a
    test hands it as if it came from the broker. Connected as soon as asked."""

    on_connect: Callable[[], None] = lambda: None
    on_disconnect: Callable[[str], None] = lambda reason: None
    on_message: Callable[[str, bytes], None] = lambda t, p: None
    connected: bool = False
    last_error: str = ""
    subscribed: int = 0
    published: list[tuple[str, bytes, int, bool]] = field(default_factory=list)
    subscriptions: list[tuple[str, int]] = field(default_factory=list)

    def connect(self) -> None:
        self.connected = True
        self.on_connect()

    def connect_async(self) -> None:
        self.connect()

    def loop(self, timeout: float = 0.1) -> bool:
        time.sleep(min(timeout, 0.01))  # a network loop waits; so does its fake
        return self.connected

    def loop_start(self) -> None:
        pass

    def loop_stop(self) -> None:
        pass

    def subscribe(self, topics: list[tuple[str, int]]) -> None:
        self.subscriptions += topics
        self.subscribed += 1

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> _Sent | None:
        if not self.connected:
            return None
        self.published.append((topic, payload, qos, retain))
        return _Sent()

    def disconnect(self) -> None:
        if self.connected:
            self.connected = False
            self.on_disconnect("disconnected")

    def drop_pending(self) -> int:
        return 0

    def deliver(self, topic: str, payload: bytes) -> None:
        """A message from the broker, on the owner's handler."""
        self.on_message(topic, payload)
