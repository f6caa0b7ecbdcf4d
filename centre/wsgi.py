"""The WSGI application gunicorn serves."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centre.settings")
application = get_wsgi_application()
# Django, its apps and their modules live as long as the worker: out of the collector's way, so a
# full collection in the middle of a request walks only what requests made.
gc.freeze()
