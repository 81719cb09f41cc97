"""Template loaders that give every <script> and <style> element a CSP nonce.

The nonce is added to the template's *source* when it is loaded, so only scripts and
styles that a template author wrote get it; nothing a variable renders into a page can
carry one. This covers the admin's and jazzmin's templates (which have inline scripts)
without copying them. Templates are compiled once (the cached loader), so the cost is
nil per request.
"""

from __future__ import annotations

import re

from django.template.loaders.app_directories import Loader as AppDirectoriesLoader
from django.template.loaders.filesystem import Loader as FilesystemLoader

_OPEN_TAG = re.compile(r"<(script|style)(?=[\s>])(?![^>]*\snonce=)", re.IGNORECASE)
NONCE_ATTRIBUTE = ' nonce="{{ request.csp_nonce }}"'


def add_nonces(source: str) -> str:
    return _OPEN_TAG.sub(lambda m: f"<{m.group(1)}{NONCE_ATTRIBUTE}", source)


class NonceFilesystemLoader(FilesystemLoader):
    def get_contents(self, origin):
        return add_nonces(super().get_contents(origin))


class NonceAppDirectoriesLoader(AppDirectoriesLoader):
    def get_contents(self, origin):
        return add_nonces(super().get_contents(origin))
