"""Packaging for VHD Gate: the door gate daemon, its drivers, the central bridge and provisioning."""

import re

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', open("device/__init__.py").read()).group(1)

setup(
    name="vhd-gate",
    version=VERSION,
    description="QR health check-in / check-out gates and the centre that collects their events",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["protocol", "drivers", "common", "device", "mqtt_bridge", "provisioning",
                                    "sim", "centre", "centre.*"]),
    package_data={"device": ["*.toml"],
                  "centre": ["templates/*.html", "templates/centre/*.html", "static/centre/*",
                             "locale/*/LC_MESSAGES/*"],
                  "centre.portal": ["templates/portal/*"]},
    install_requires=[
        "cryptography>=41",
        "numpy>=1.24",
        "pillow>=10",
        "qrcode>=7.4",
        "paho-mqtt>=2.0,<3",
        "msgspec>=0.18.6",
        "zxing-cpp>=2.2",
        "pyzbar>=0.1.9",
        "gpiozero>=2.0",
        "luma.oled>=3.12",
        "sqlite-utils>=3.36",
    ],
    extras_require={
        # On a Pi: pin backend for gpiozero; picamera2 itself comes from apt (python3-picamera2).
        "pi": ["lgpio>=0.2"],
        "opencv": ["opencv-contrib-python-headless>=4.8"],
        "bridge": ["psycopg[binary]>=3.1", "prometheus_client>=0.20"],
        # The centre's web site (Django 5.2 LTS runs on Debian 12's and Raspberry Pi OS's Python 3.11).
        "centre": ["django>=5.2,<5.3", "gunicorn>=27", "whitenoise>=6.6", "argon2-cffi>=23",
                   # the official administrative units (tỉnh, phường/xã since July 2025) and their codes
                   "vietnam-provinces>=2025.8",
                   "psycopg[binary]>=3.1"],
        "test": ["pytest>=7", "hypothesis>=6", "ruff>=0.4", "selenium>=4.20", "mypy>=1.10"],
    },
    entry_points={
        "console_scripts": [
            "vhd-gate=device.cli:main",
            "vhd-bridge=mqtt_bridge.cli:main",
            "vhd-provision=provisioning.cli:main",
            "vhd-centre=centre.cli:main",
            "vhd-sim=sim.cli:main",
        ],
    },
)
