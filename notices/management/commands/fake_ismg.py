"""Run a local ISMG of our own that speaks CMPP 2.0 and 3.0 (demos, tests, the benchmark)."""

import asyncio
import contextlib
import json
import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from notices.links.cmpp.fake_ismg import RECEIPT_ORDERS, FakeIsmg, FakeIsmgConfig
from notices.links.cmpp.pdu import Version


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Serve a fake China Mobile ISMG (CMPP 2.0 and 3.0): checks the login, enforces a window, "
        "can be slow, throttle, fail and drop connections, and sends status reports and customers' replies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=7890, help="0: any free port (printed)")
        parser.add_argument("--versions", default="2.0,3.0", help="versions accepted, e.g. 3.0 or 2.0,3.0")
        parser.add_argument("--sp-id", default=None, help="expected Source_Addr (default SMS_CMPP_SP_ID)")
        parser.add_argument("--secret", default=None, help="shared secret (default SMS_CMPP_SECRET)")
        parser.add_argument("--window", type=int, default=16, help="unanswered submits a connection may have")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="before each CMPP_SUBMIT_RESP")
        parser.add_argument("--rate-limit", type=int, default=0, help="submits per second; beyond: Result 8")
        parser.add_argument(
            "--throttle-rate", type=_share, default=0.0, help="share of submits answered Result 8"
        )
        parser.add_argument("--error-rate", type=_share, default=0.0, help="share answered --error-result")
        parser.add_argument("--error-result", type=int, default=13, help="the Result for --error-rate")
        parser.add_argument(
            "--drop-after",
            type=int,
            default=0,
            help="drop the connection when the N-th submit arrives, unanswered",
        )
        parser.add_argument("--drop-repeat", action="store_true", help="and again every N submits")
        parser.add_argument(
            "--receipts", choices=RECEIPT_ORDERS, default="in_order", help="status reports per part"
        )
        parser.add_argument("--receipt-delay", type=float, default=0.5, help="seconds before the reports")
        parser.add_argument("--duplicate-receipts", type=int, default=0, help="extra copies of every report")
        parser.add_argument("--receipts-on", choices=("same", "any"), default="same", help="which connection")
        parser.add_argument("--undeliverable-rate", type=_share, default=0.0, help="share reported UNDELIV")
        parser.add_argument(
            "--mo-every", type=float, default=0.0, help="send a customer's message every S seconds"
        )
        parser.add_argument("--mo-from", default="13800138000", help="the customer sending them")
        parser.add_argument("--mo-text", default="我已经还款了，请核实。", help="what the customer writes")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--report",
            default="",
            help="on stopping, write every accepted (destination, content, count) here as JSON",
        )

    def handle(self, *args, **options):
        try:
            versions = tuple(sorted({Version.from_label(v.strip()) for v in options["versions"].split(",")}))
        except ValueError:
            raise CommandError(_("--versions: expected 2.0, 3.0 or 2.0,3.0")) from None
        config = FakeIsmgConfig(
            sp_id=options["sp_id"] or str(settings.SMS_CMPP_SP_ID),
            secret=options["secret"] or str(settings.SMS_CMPP_SECRET),
            versions=versions,
            window=options["window"],
            latency_s=options["latency_ms"] / 1000,
            rate_limit=options["rate_limit"],
            throttle_rate=options["throttle_rate"],
            error_rate=options["error_rate"],
            error_result=options["error_result"],
            drop_after=options["drop_after"],
            drop_repeat=options["drop_repeat"],
            receipts=options["receipts"],
            receipt_delay_s=options["receipt_delay"],
            receipt_duplicates=options["duplicate_receipts"],
            receipts_on=options["receipts_on"],
            undeliverable_rate=options["undeliverable_rate"],
            seed=options["seed"],
        )
        try:
            asyncio.run(self._serve(config, options))
        except OSError as exc:
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s: %(error)s")
                % {"host": options["host"], "port": options["port"], "error": exc.strerror or exc}
            ) from None

    async def _serve(self, config: FakeIsmgConfig, options: dict) -> None:
        ismg = await FakeIsmg(config, host=options["host"], port=options["port"]).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        self.stdout.write(
            _("Fake ISMG (CMPP %(versions)s) listening on %(host)s:%(port)s, SP code %(sp_id)s")
            % {
                "versions": ", ".join(v.label for v in config.versions),
                "host": ismg.host,
                "port": ismg.port,
                "sp_id": config.sp_id,
            }
        )
        self.stdout.flush()
        mo = asyncio.create_task(self._customers(ismg, options)) if options["mo_every"] > 0 else None
        await stop.wait()
        if mo:
            mo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await mo
        await ismg.stop()
        summary = {**dict(ismg.stats), "duplicates": len(ismg.duplicates())}
        if options["report"]:
            Path(options["report"]).write_text(json.dumps(ismg.report(), ensure_ascii=False, indent=1))
        self.stdout.write(
            _("Stopped. What the ISMG saw: %(stats)s") % {"stats": json.dumps(summary, sort_keys=True)}
        )

    async def _customers(self, ismg: FakeIsmg, options: dict) -> None:
        while True:
            await asyncio.sleep(options["mo_every"])
            if ismg.live():
                await ismg.send_mo(
                    sender=options["mo_from"], text=options["mo_text"], dest_id=str(settings.SMS_CMPP_SRC_ID)
                )
