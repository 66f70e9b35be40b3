"""Screenshots for the docs, from a running platform (`./mlops up`), with headless Chromium.

    .venv/bin/python docs/images/capture.py      # needs Debian's `chromium` (apt install chromium)

Drives Chromium through its DevTools protocol: open a page, wait until it has rendered, dismiss
Dagster's first-visit dialog, and save a PNG next to this script. Chromium runs in a profile of its
own, on loopback, and is stopped by its PID when done.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

HERE = Path(__file__).resolve().parent
DAGSTER, MLFLOW = "http://127.0.0.1:3000", "http://127.0.0.1:5000"
# Dagster's first-visit dialog; MLflow's assistant panel, and the model's versions (with their
# aliases) scrolled into view below its tags (the alias history mirror)
DISMISS = """[...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Skip')
  .forEach(b => b.click())"""
FOLD = """document.querySelectorAll('button[aria-label="Close"], [aria-label="Close assistant"]')
  .forEach(b => b.click());
[...document.querySelectorAll('h2, span, div')]
  .filter(e => e.childElementCount === 0 && e.textContent.trim() === 'Versions')
  .slice(0, 1).forEach(e => e.scrollIntoView({block: 'start'}))"""
SHOTS = {  # file -> (URL, seconds to let the page render, what to click first)
    "dagster-asset-graph.png": (f"{DAGSTER}/locations/core/asset-groups/core", 8, DISMISS),
    "dagster-release-history.png": (f"{DAGSTER}/assets/served_alias?view=events", 8, DISMISS),
    "mlflow-model-aliases.png": (f"{MLFLOW}/#/models/iris-classifier", 6, FOLD),
}


class Tab:
    def __init__(self, ws_url: str):
        self._ws = connect(ws_url, max_size=None, legacy=True)
        self._ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        call_id = next(self._ids)
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:  # events arrive in between: skip to our answer
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def shot(self, url: str, settle_s: float, clicks: str, path: Path) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(settle_s)
        self.call("Runtime.evaluate", expression=clicks)
        time.sleep(1)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("error: no chromium on PATH (apt install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mlops-shots-") as profile:
        chromium = subprocess.Popen(
            [
                browser,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1400,900",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=9333",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    tabs = httpx.get("http://127.0.0.1:9333/json/list", timeout=2).json()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
            tab = Tab(next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page"))
            tab.call("Page.enable")
            tab.call("Emulation.setDeviceMetricsOverride", width=1400, height=900, deviceScaleFactor=1, mobile=False)
            for name, (url, settle_s, clicks) in SHOTS.items():
                tab.shot(url, settle_s, clicks, HERE / name)
                print(f"wrote docs/images/{name}")
        finally:
            chromium.terminate()
            chromium.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
