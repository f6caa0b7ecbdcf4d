"""The errors a user can meet and fix, each printed as one clear line instead of a traceback."""

from device.queue import QueueError
from device.screens import FontError
from drivers.camera import CameraError
from drivers.decoder import DecoderError
from drivers.display import DisplayError
from drivers.mqtt import MqttError
from drivers.signals import SignalsError
from mqtt_bridge.store import StoreError
from provisioning.mosquitto import BrokerError

USER_ERRORS = (CameraError, DecoderError, DisplayError, SignalsError, QueueError, FontError, MqttError,
               BrokerError, StoreError)
