"""Page checks the browser tests run in Chromium."""

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
