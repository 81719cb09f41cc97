"""Run an SMSC of our own (demos, `make run GATEWAY=smpp`, the benchmark)."""

import asyncio
import contextlib

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from notices.links.smpp.fake_smsc import FakeSmsc


class Command(BaseCommand):
    help = "Serve a fake SMSC over SMPP 3.4 that acknowledges submits, sends receipts and replies."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=2775)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--system-id", default="", help="only this system_id may bind (default: any)")
        parser.add_argument("--password", default="", help="and only with this password")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each submit_sm_resp")
        parser.add_argument("--receipt-delay", type=float, default=0.5, help="seconds before each receipt")
        parser.add_argument("--undeliverable-rate", type=float, default=0.0, help="share reported UNDELIV")
        parser.add_argument(
            "--reply-rate", type=float, default=0.0, help="share of messages the customer answers"
        )

    def handle(self, *args, **options):
        smsc = FakeSmsc(
            host=options["host"],
            port=options["port"],
            system_id=options["system_id"],
            password=options["password"],
            latency=options["latency_ms"] / 1000,
            receipt_delay=options["receipt_delay"],
            undeliverable_rate=options["undeliverable_rate"],
            reply_rate=options["reply_rate"],
        )

        async def run():
            port = await smsc.start()
            self.stdout.write(
                _("Fake SMSC listening on %(host)s:%(port)s") % {"host": options["host"], "port": port}
            )
            self.stdout.flush()
            await smsc.serve_forever()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
        self.stdout.write(str(smsc.stats.as_dict()))
