"""Serve the web app and a django-q2 worker together; Ctrl-C stops both (`make run`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management import get_commands
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Run the web server and a background worker together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--fake-gateway",
            action="store_true",
            default=os.environ.get("GATEWAY") == "fake",
            help="also run the fake SMS platform and send through it (receipts reach 'delivered')",
        )
        parser.add_argument(
            "--fake-smsc",
            action="store_true",
            default=os.environ.get("GATEWAY") == "smpp",
            help="also run the fake SMSC and send over SMPP through `sms_link` (receipts and replies)",
        )
        parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("GATEWAY_PORT", "9000")))
        parser.add_argument("--smsc-port", type=int, default=int(os.environ.get("SMSC_PORT", "2775")))

    def handle(self, *args, **options):
        manage = [sys.executable, "manage.py"]
        address = f"{options['host']}:{options['port']}"
        env = dict(os.environ)
        children = []
        if options["fake_gateway"]:
            gateway = f"http://127.0.0.1:{options['gateway_port']}"
            env.update(SMS_BACKEND="http", SMS_HTTP_BASE_URL=gateway)
            children.append(
                subprocess.Popen(
                    [
                        *manage,
                        "fake_sms_gateway",
                        "--port",
                        str(options["gateway_port"]),
                        "--webhook-url",
                        f"http://{address}",
                    ],
                    env=env,
                )
            )
            self.stdout.write(_("Sending through the fake SMS gateway at %(url)s") % {"url": gateway})
        elif options["fake_smsc"]:
            port = str(options["smsc_port"])
            env.update(
                SMS_BACKEND="smpp",
                SMS_SMPP_HOST="127.0.0.1",
                SMS_SMPP_PORT=port,
                SMS_SMPP_SYSTEM_ID="demo",
                SMS_SMPP_PASSWORD="demo",  # noqa: S106  (the local fake SMSC's, not a secret)
                SMS_SMPP_SOURCE_ADDR="95588",
            )
            children.append(
                subprocess.Popen(
                    [*manage, "fake_smsc", "--port", port, "--system-id", "demo", "--password", "demo"]
                    + ["--latency-ms", "20", "--reply-rate", "0.05"],
                    env=env,
                )
            )
            if "sms_link" in get_commands():
                children.append(subprocess.Popen([*manage, "sms_link"], env=env))
            else:
                self.stderr.write(_("manage.py sms_link is not installed: messages wait in the outbox."))
            self.stdout.write(
                _("Sending over SMPP through the fake SMSC at 127.0.0.1:%(port)s") % {"port": port}
            )
        children += [
            subprocess.Popen([*manage, "qcluster"], env=env),
            subprocess.Popen([*manage, "runserver", address, "--noreload", "--skip-checks"], env=env),
        ]
        self.stdout.write(
            self.style.SUCCESS(_("Overdue Notices is running at http://%(address)s/") % {"address": address})
        )
        self.stdout.write(_("Press Ctrl-C to stop the web server and the worker."))
        stop = False

        def _stop(signum, frame):
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        self.stdout.write(_("Stopped."))
