"""Production settings: every secret comes from the environment, HTTPS only.

Required (no defaults here): SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, SMS_WEBHOOK_SECRET,
SMS_HTTP_TOKEN. `manage.py check --deploy --fail-level WARNING` passes with just those.
"""

from .base import *  # noqa: F403
from .base import _tune_database, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", expected="a long random secret")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", expected="host names separated by commas, e.g. notices.bank.example"
)
DATABASES = {"default": _tune_database(env.db("DATABASE_URL"))}
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", expected="a random secret of at least 32 characters")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", expected="the token the SMS platform issued")
# A production deployment talks to the bank's SMS platform unless told otherwise.
SMS_BACKEND = env("SMS_BACKEND", default="http", expected="console, locmem, file, http or a dotted path")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Cookies only over HTTPS; the __Host- prefix also pins them to this exact host.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

env.stop_if_invalid()
