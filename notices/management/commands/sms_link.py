"""Hold the carrier bind(s) of SMS_BACKEND (smpp, cmpp) and send the outbox through them."""

from __future__ import annotations

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from notices.backends import get_backend
from notices.links.runner import LinkRunner


class Command(BaseCommand):
    help = _(
        "Hold a carrier link (SMS_BACKEND=smpp or cmpp) and send queued messages through it, "
        "until SIGTERM (which finishes the window and unbinds)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=_("send what is due, then unbind and exit"))
        parser.add_argument(
            "--binds",
            type=int,
            default=1,
            help=_("how many of the allowed binds this process holds (default 1)"),
        )

    def handle(self, *args, **options):
        backend = get_backend()
        if not backend.link:
            raise CommandError(
                _(
                    "SMS_BACKEND is %(name)s, not a carrier link (smpp or cmpp): its messages are sent by the workers."
                )
                % {"name": backend.name}
            )
        logging.basicConfig(level=logging.INFO)
        factory = backend.session_factory()
        runners = [
            LinkRunner(link=backend.kind, session_factory=factory, slots=backend.slots, once=options["once"])
            for _ in range(max(1, options["binds"]))
        ]
        stats = asyncio.run(self._run(runners))
        self.stdout.write(" ".join(f"{key}={value}" for key, value in sorted(stats.items())))

    async def _run(self, runners):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: [runner.stop() for runner in runners])
        results = await asyncio.gather(*(runner.run() for runner in runners))
        total = results[0]
        for other in results[1:]:
            total.update(other)
        return total
