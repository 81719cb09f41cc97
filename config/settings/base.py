"""Settings shared by every environment, read from the environment (django-environ).

`test` and `prod` build on this module. Anything a deployment may need to change is an
environment variable, listed with its default in README.md ("Settings").
"""

import contextlib
import datetime
from decimal import Decimal
from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

from config.environment import Environment  # noqa: E402 (needs nothing above but the path)

env = Environment()
env.read_env_file(BASE_DIR / ".env")

# --- Core ---------------------------------------------------------------------------
SECRET_KEY = env(
    "SECRET_KEY",
    default="dev-only-insecure-key-change-me-in-production-0123456789",
    expected="a long random secret",
)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"], expected="host names separated by commas"
)
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[],
    expected="origins separated by commas, e.g. https://notices.bank.example",
)

INSTALLED_APPS = [
    "jazzmin",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_q",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "core",
    "customers",
    "notices",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.IdleSessionTimeoutMiddleware",
    "core.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Every inline <script>/<style> written in a template (ours, the admin's,
            # jazzmin's) gets the request's CSP nonce; see core/template_loaders.py.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "core.template_loaders.NonceFilesystemLoader",
                        "core.template_loaders.NonceAppDirectoriesLoader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.bank",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
# Default: a SQLite file beside the code. WAL lets the web server read while the worker
# writes; IMMEDIATE transactions take the write lock up front so two writers queue on
# the busy timeout instead of failing with "database is locked" halfway through.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}


def _tune_database(db: dict) -> dict:
    if db["ENGINE"] == "django.db.backends.sqlite3":
        options = db.setdefault("OPTIONS", {})
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 30)
        options.setdefault(
            "init_command",
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
    else:
        db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60, minimum=0))
        db.setdefault("CONN_HEALTH_CHECKS", True)
    return db


DATABASES["default"] = _tune_database(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------
# File-based by default so the web server and the task worker (separate processes) see
# the same entries, e.g. an import's progress.
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{BASE_DIR / '.cache' / 'django'}")}

# --- Auth ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses (and counts) attempts for a locked-out username + address.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "core.passwords.CharacterKindsValidator", "OPTIONS": {"kinds": 3}},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# --- Security ------------------------------------------------------------------------
# Sessions end after this many idle minutes (core.middleware.IdleSessionTimeoutMiddleware;
# the cookie and the stored session expire with it, so the server enforces it too).
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30, minimum=1) * 60
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # our scripts read the token from the page, never the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "core.views.csrf_failure"  # a 403 in the app's layout and language

# The reverse proxies in front of the app (addresses or networks). X-Forwarded-For is
# believed only when it comes from one of them: see core.net.client_ip.
TRUSTED_PROXIES = env.networks("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])

# Login lockout (django-axes): a username is locked *from one address* after too many
# failures, so an attacker cannot lock a colleague out from elsewhere, and a forged
# X-Forwarded-For gains nothing (the address is the one core.net.client_ip trusts).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.net.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.views.locked_out"
AXES_VERBOSE = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]

# One-time passwords (django-otp, TOTP). A user with a confirmed device must give its
# code at login; users in these roles must set one up before they can work.
OTP_REQUIRED_FOR_ROLES = env.list(
    "OTP_REQUIRED_FOR_ROLES",
    default=[],
    choices=("staff", "supervisor", "administrator", "催收专员", "主管", "系统管理员"),
)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Overdue Notices", expected="a name")

# Content-Security-Policy (django-csp 4). Scripts run only from our own origin or with
# the per-request nonce that core.template_loaders adds to every inline <script> and
# <style> element in our templates. Style *attributes* (style="…", used throughout the
# admin theme) need 'unsafe-inline' in style-src-attr; they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Retention ---------------------------------------------------------------------
# `manage.py purge_old_data` deletes finished SMS (with their attempts and receipts),
# inbound SMS and closed feedback older than this. It never touches the audit log.
DATA_RETENTION_DAYS = env.int("DATA_RETENTION_DAYS", default=730, minimum=1)

# --- Language, time, money ----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- Static files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"), expected="a directory"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise warns about a missing STATIC_ROOT even when it serves from the apps.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media"), expected="a directory"))
MEDIA_URL = "media/"

# --- The bank -----------------------------------------------------------------------
BANK_NAME = env("BANK_NAME", default="民丰银行", expected="the bank's name")
SMS_SIGNATURE = env("SMS_SIGNATURE", default=f"【{BANK_NAME}】", expected="a signature such as 【民丰银行】")
# The demo's hotline is a number no bank has (no phone number is all zeros): every
# deployment must set the bank's own. Production refuses to start without it.
DEMO_HOTLINE = "00000"
BANK_HOTLINE = env("BANK_HOTLINE", default=DEMO_HOTLINE, expected="a phone number")
BANK_REPAY_METHODS = env("BANK_REPAY_METHODS", default="手机银行或网点", expected="a phrase")

# --- Notices and sending -------------------------------------------------------------
# Defaults for the contact policy; administrators can change it in the admin (audited).
# "00:00-24:00" (or any range ending where it starts) is all day.
SMS_CONTACT_WINDOW = env.time_range("SMS_CONTACT_WINDOW", default="08:00-22:00")
SMS_RATE_LIMIT = env.int("SMS_RATE_LIMIT", default=50, minimum=1)
SMS_DAILY_CAP = env.int("SMS_DAILY_CAP", default=1, minimum=1)
SMS_MIN_OVERDUE_AMOUNT = env.decimal("SMS_MIN_OVERDUE_AMOUNT", default=Decimal("10.00"), minimum=Decimal(0))
SMS_REPAY_BY_DAYS = env.int("SMS_REPAY_BY_DAYS", default=3, minimum=0)  # a new stage's repay-by rule
SMS_MAX_PARTS = env.int("SMS_MAX_PARTS", default=2, minimum=1, maximum=6)
BATCH_MAX_AGE_DAYS = env.int("BATCH_MAX_AGE_DAYS", default=1, minimum=0)
BATCH_SCHEDULE_TIME = env.time("BATCH_SCHEDULE_TIME", default="07:30")
SMS_BACKEND = env(
    "SMS_BACKEND",
    default="console",
    expected="console, locmem, file, http, kannel, jasmin, smpp, cmpp or a dotted path",
)
SMS_HTTP_BASE_URL = env.url("SMS_HTTP_BASE_URL", default="http://127.0.0.1:9000")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="dev-sms-token", expected="the token the SMS platform issued")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=5.0, above=0)
SMS_WEBHOOK_SECRET = env("SMS_WEBHOOK_SECRET", default="dev-webhook-secret", expected="a random secret")
# A webhook call older (or newer) than this is a replay: refused. With X-Timestamp the
# signed timestamp counts; without it, each item's "at" (see notices/views.py).
SMS_WEBHOOK_TOLERANCE_SECONDS = env.int("SMS_WEBHOOK_TOLERANCE_SECONDS", default=300, minimum=1)
SMS_WEBHOOK_REQUIRE_TIMESTAMP = env.bool("SMS_WEBHOOK_REQUIRE_TIMESTAMP", default=False)
SMS_FILE_PATH = env(
    "SMS_FILE_PATH", default=str(BASE_DIR / "media" / "sms-outbox.jsonl"), expected="a file path"
)
SMS_SEND_CONCURRENCY = env.int(
    "SMS_SEND_CONCURRENCY", default=16, minimum=1
)  # gateway calls in flight per worker
SMS_SENDER_TASKS = env.int("SMS_SENDER_TASKS", default=2, minimum=1)  # sender tasks queued per wake-up
SMS_SENDER_CHUNK = env.int("SMS_SENDER_CHUNK", default=100, minimum=1)  # messages claimed at a time
SMS_SENDER_MAX_SECONDS = env.int("SMS_SENDER_MAX_SECONDS", default=240, minimum=1)  # below Q_TIMEOUT
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=5, minimum=1)
SMS_SEND_LEASE_SECONDS = env.int("SMS_SEND_LEASE_SECONDS", default=120, minimum=1)
SMS_MAX_RECONCILE = env.int("SMS_MAX_RECONCILE", default=5, minimum=1)

# --- Feedback -------------------------------------------------------------------------
# The same text from the same phone within this many minutes is one feedback item (its
# count goes up) while that item is open: a customer who sends "已还" three times is one
# piece of work. 0 turns merging off.
FEEDBACK_MERGE_MINUTES = env.int("FEEDBACK_MERGE_MINUTES", default=60, minimum=0)

# --- CMPP link (China Mobile's ISMG, SMS_BACKEND=cmpp) ------------------------------------
# Taken as given here (numbers when they read as numbers); notices.links.cmpp.config.cmpp_config()
# checks every one and refuses a bad value with one line naming it. The defaults reach
# `manage.py fake_ismg` on this machine; production requires the real ones (prod.py).


def _number_or_text(text: str) -> int | float | str:
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return text


SMS_CMPP_HOST = env("SMS_CMPP_HOST", default="127.0.0.1")
SMS_CMPP_PORT = _number_or_text(env("SMS_CMPP_PORT", default="7890"))
SMS_CMPP_VERSION = env("SMS_CMPP_VERSION", default="3.0")  # 3.0 or 2.0
SMS_CMPP_SP_ID = env("SMS_CMPP_SP_ID", default="901234")  # Source_Addr: the 6-character SP code
SMS_CMPP_SECRET = env("SMS_CMPP_SECRET", default="dev-cmpp-secret")
SMS_CMPP_SERVICE_ID = env("SMS_CMPP_SERVICE_ID", default="MFBANK")
SMS_CMPP_SRC_ID = env("SMS_CMPP_SRC_ID", default="1069012345")  # the bank's 106 number
SMS_CMPP_WINDOW = _number_or_text(env("SMS_CMPP_WINDOW", default="16"))  # outstanding submits per link
SMS_CMPP_LINKS = _number_or_text(env("SMS_CMPP_LINKS", default="1"))  # most connections, all hosts
SMS_CMPP_ACTIVE_TEST_S = _number_or_text(env("SMS_CMPP_ACTIVE_TEST_S", default="60"))

# --- Gateways banks already run, and carrier links (docs/gateways/) ------------------
# A contract: other tools start the gateways with exactly these names. Values are read
# as text and checked where they are used (notices/gateway_settings.py), so a bad one
# is one line naming it, not a traceback. SMS_CALLBACK_BASE_URL is where Kannel and
# Jasmin reach this app (e.g. https://notices.bank.example), for their callbacks.
SMS_CALLBACK_BASE_URL = env("SMS_CALLBACK_BASE_URL", default="")
SMS_KANNEL_URL = env(
    "SMS_KANNEL_URL", default=""
)  # smsbox's sendsms, e.g. http://kannel:13013/cgi-bin/sendsms
SMS_KANNEL_USERNAME = env("SMS_KANNEL_USERNAME", default="")
SMS_KANNEL_PASSWORD = env("SMS_KANNEL_PASSWORD", default="")
SMS_KANNEL_FROM = env("SMS_KANNEL_FROM", default="")
SMS_JASMIN_URL = env("SMS_JASMIN_URL", default="")  # its HTTP API, e.g. http://jasmin:1401
SMS_JASMIN_USERNAME = env("SMS_JASMIN_USERNAME", default="")
SMS_JASMIN_PASSWORD = env("SMS_JASMIN_PASSWORD", default="")
# SMS_BACKEND=smpp: transceiver binds held by `manage.py sms_link` (notices/links/smpp/).
SMS_SMPP_HOST = env("SMS_SMPP_HOST", default="")
SMS_SMPP_PORT = env("SMS_SMPP_PORT", default="2775")
SMS_SMPP_SYSTEM_ID = env("SMS_SMPP_SYSTEM_ID", default="")
SMS_SMPP_PASSWORD = env("SMS_SMPP_PASSWORD", default="")
SMS_SMPP_SYSTEM_TYPE = env("SMS_SMPP_SYSTEM_TYPE", default="")
SMS_SMPP_SOURCE_ADDR = env("SMS_SMPP_SOURCE_ADDR", default="")
SMS_SMPP_WINDOW = env("SMS_SMPP_WINDOW", default="10")  # submits awaiting an answer, per bind
SMS_SMPP_BINDS = env("SMS_SMPP_BINDS", default="1")  # most binds across all hosts
SMS_SMPP_ENQUIRE_LINK_S = env("SMS_SMPP_ENQUIRE_LINK_S", default="30")

# --- Repayment plans -------------------------------------------------------------------
PLAN_MAX_EXTENSION_DAYS = env.int("PLAN_MAX_EXTENSION_DAYS", default=30, minimum=1)
PLAN_MAX_INSTALLMENTS = env.int("PLAN_MAX_INSTALLMENTS", default=12, minimum=2)
PLAN_GRACE_DAYS = env.int("PLAN_GRACE_DAYS", default=3, minimum=0)  # unpaid this long after its date: broken
PLAN_REMINDER_DAYS = env.int("PLAN_REMINDER_DAYS", default=3, minimum=0)  # reminder this many days before

# --- Background tasks (django-q2) ---------------------------------------------------
# The ORM broker needs nothing but the database; REDIS_URL switches to Redis. The
# database stays the source of truth either way. The values below are checked by
# core.checks: a task must never be handed out twice while it may still be running.
REDIS_URL = env("REDIS_URL", default="", expected="a Redis URL, e.g. redis://host:6379/0")
Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="overdue-notices", expected="a name"),
    "workers": env.int("Q_WORKERS", default=2, minimum=1),
    "recycle": 500,
    "timeout": env.int("Q_TIMEOUT", default=600, minimum=1),
    "retry": env.int("Q_RETRY", default=720, minimum=1),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=1, minimum=0),
    "catch_up": False,
    "save_limit": 1000,
    "queue_limit": 50,
    "ack_failures": True,
    "poll": 1,
    "label": "后台任务",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Loan-book import ---------------------------------------------------------------
# A 1,000,000-row book is about 105 MB as .xlsx and 180 MB as CSV (docs/loan-book-format.md).
LOAN_IMPORT_MAX_BYTES = env.int("LOAN_IMPORT_MAX_MB", default=300, minimum=1) * 1024 * 1024
# Zip-bomb guards, checked on the archive's directory before any XML is parsed.
LOAN_IMPORT_MAX_UNCOMPRESSED_BYTES = env.int("LOAN_IMPORT_MAX_UNCOMPRESSED_MB", default=2048) * 1024 * 1024
LOAN_IMPORT_MAX_COMPRESSION_RATIO = env.int("LOAN_IMPORT_MAX_COMPRESSION_RATIO", default=100)
# One row of the file (its XML, or a CSV line) larger than this refuses the file.
LOAN_IMPORT_MAX_ROW_BYTES = env.int("LOAN_IMPORT_MAX_ROW_KB", default=1024) * 1024
LOAN_IMPORT_CHUNK_ROWS = env.int("LOAN_IMPORT_CHUNK_ROWS", default=2000)
# A snapshot that would cure more than this share of the overdue book, or in which more
# than this share of rows is rejected, needs a supervisor (browser) or --force (command).
LOAN_IMPORT_SNAPSHOT_MAX_CURED_PERCENT = env.float("LOAN_IMPORT_SNAPSHOT_MAX_CURED_PERCENT", default=20)
LOAN_IMPORT_SNAPSHOT_MAX_REJECTED_PERCENT = env.float("LOAN_IMPORT_SNAPSHOT_MAX_REJECTED_PERCENT", default=5)

# --- UI -----------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

IMPORT_LINK = _("Import the loan book")
EFFECTIVENESS_LINK = _("Effectiveness")
REPORTS_LINK = _("Reports")

JAZZMIN_SETTINGS = {
    "site_title": BANK_NAME,
    "site_header": BANK_NAME,
    "site_brand": BANK_NAME,
    "site_logo": "img/logo.svg",
    "login_logo": "img/logo.svg",
    "site_logo_classes": "",
    "site_icon": "img/logo.svg",
    "welcome_sign": _("Overdue notices · collections workbench"),
    "copyright": BANK_NAME,
    "search_model": ["customers.Customer", "customers.Loan"],
    "use_google_fonts_cdn": False,
    "show_ui_builder": False,
    "language_chooser": True,
    "changeform_format": "single",
    "related_modal_active": False,
    # The side menu in the order of a working day: import the book, look customers up,
    # then the batch, its sending, the replies and plans, the figures; the rules last.
    # Custom links are ordered by their (translated) names, hence the same lazy strings.
    "order_with_respect_to": [
        "customers",
        IMPORT_LINK,
        "customers.loanbookimport",
        "customers.customer",
        "customers.loan",
        "customers.loanevent",
        "notices",
        "notices.noticebatch",
        "notices.smsmessage",
        "notices.deliveryreceipt",
        "notices.feedback",
        "notices.inboundmessage",
        "notices.repaymentplan",
        EFFECTIVENESS_LINK,
        REPORTS_LINK,
        "notices.smstemplate",
        "notices.collectionstage",
        "notices.keywordrule",
        "notices.feedbacksla",
        "notices.forbiddenexpression",
        "notices.contactpolicy",
        "core",
        "auth",
        "otp_totp",
        "axes",
        "django_q",
    ],
    "icons": {
        "auth": "fas fa-users-cog",
        "auth.user": "fas fa-user",
        "auth.Group": "fas fa-users",
        "customers.Customer": "fas fa-address-card",
        "customers.Loan": "fas fa-file-invoice-dollar",
        "customers.LoanEvent": "fas fa-stream",
        "customers.LoanBookImport": "fas fa-file-excel",
        "core.AuditEvent": "fas fa-clipboard-list",
        "notices.NoticeBatch": "fas fa-layer-group",
        "notices.SmsMessage": "fas fa-sms",
        "notices.Feedback": "fas fa-inbox",
        "notices.RepaymentPlan": "fas fa-calendar-check",
        "notices.InboundMessage": "fas fa-reply",
        "notices.DeliveryReceipt": "fas fa-check-double",
        "notices.SmsTemplate": "fas fa-pen-fancy",
        "notices.CollectionStage": "fas fa-stairs",
        "notices.KeywordRule": "fas fa-tags",
        "notices.FeedbackSla": "fas fa-stopwatch",
        "notices.ForbiddenExpression": "fas fa-ban",
        "notices.ContactPolicy": "fas fa-sliders-h",
    },
    "custom_css": "css/app.css",
    "usermenu_links": [{"name": _("Two-step sign-in"), "url": "two_factor_setup", "icon": "fas fa-key"}],
    "custom_links": {
        "customers": [
            {
                "name": IMPORT_LINK,
                "url": "admin:customers_loanbookimport_upload",
                "icon": "fas fa-file-upload",
                "permissions": ["customers.add_loanbookimport"],
            }
        ],
        "notices": [
            {
                "name": EFFECTIVENESS_LINK,
                "url": "notices_effectiveness",
                "icon": "fas fa-chart-line",
                "permissions": ["notices.view_smsmessage"],
            },
            {
                "name": REPORTS_LINK,
                "url": "notices_reports",
                "icon": "fas fa-file-download",
                "permissions": ["customers.export_data"],
            },
        ],
    },
}
JAZZMIN_UI_TWEAKS = {
    "theme": "default",
    "navbar": "navbar-white navbar-light",
    "sidebar": "sidebar-dark-primary",
    "accent": "accent-primary",
    "sidebar_nav_child_indent": True,
}

# --- Logging ------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "core.pii.MaskPersonalDataFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal_data"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # The development server logs each request line, query string included (a search
        # for a mobile): through our masked handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Last: one line per setting the environment got wrong, and no start-up (config/environment.py).
env.stop_if_invalid()
