"""Page checks the browser tests run in Chromium, and the files they choose in a page."""

from __future__ import annotations

from typing import Any

# For each control: does it have an accessible name a screen reader would announce?
UNLABELLED = """
() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]'
)).filter(el => {
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
        || el.getAttribute('aria-labelledby') || el.getAttribute('title')
        || (['BUTTON', 'A'].includes(el.tagName) && el.textContent.trim().length > 0);
    return !named;
}).map(el => el.outerHTML.slice(0, 120))
"""


def input_file(name: str, data: bytes, mime_type: str = "audio/wav") -> dict[str, Any]:
    """A file as Playwright's `set_input_files` takes it: what an artist picks in the form."""
    return {"name": name, "mimeType": mime_type, "buffer": data}
