"""Run a local fake of the bank SMS platform (demos and tests)."""

import contextlib

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from notices.fake_gateway import FakeGateway


class Command(BaseCommand):
    help = "Serve a fake of the bank SMS platform's HTTP API that posts signed receipts back."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=9000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--latency-ms", type=float, default=50.0)
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="share of sends answered 503 (retry)"
        )
        parser.add_argument("--permanent-fail-rate", type=float, default=0.0, help="share answered 400")
        parser.add_argument(
            "--timeout-rate", type=float, default=0.0, help="share accepted, then answered too late"
        )
        parser.add_argument("--undeliverable-rate", type=float, default=0.0, help="share reported failed")
        parser.add_argument(
            "--webhook-url", default="", help="base URL of this app, e.g. http://127.0.0.1:8000"
        )
        parser.add_argument("--receipt-delay", type=float, default=0.5, help="seconds before the receipt")

    def handle(self, *args, **options):
        gateway = FakeGateway(
            port=options["port"],
            host=options["host"],
            token=settings.SMS_HTTP_TOKEN,
            webhook_url=options["webhook_url"],
            secret=settings.SMS_WEBHOOK_SECRET,
            receipt_delay=options["receipt_delay"],
            latency=options["latency_ms"] / 1000,
            fail_rate=options["fail_rate"],
            permanent_fail_rate=options["permanent_fail_rate"],
            timeout_rate=options["timeout_rate"],
            undeliverable_rate=options["undeliverable_rate"],
        )
        self.stdout.write(
            _("Fake SMS gateway listening on %(url)s (statistics at /_stats)") % {"url": gateway.url}
        )
        with contextlib.suppress(KeyboardInterrupt):
            gateway.serve_forever()
