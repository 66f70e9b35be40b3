"""Local monitoring, started by `./mlops up` when the monitoring layer is on: Debian's Prometheus
(scraping the model servers, with the layer's rules: the SLO rollback asks it) and, when
SLACK_WEBHOOK_URL is set, Debian's Alertmanager (routing to the webhook), on loopback ports,
stopped by PID like every service."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from optional_layers.monitoring.alerting import alertmanager_config, prometheus_alerting
from optional_layers.monitoring.gitops import RULES

BINARIES = ("prometheus", "prometheus-alertmanager")


def ensure_installed(binaries: tuple[str, ...] = BINARIES) -> None:
    """Install the Debian packages on first need (the entry script's `alerting-packages`)."""
    if not all(shutil.which(binary) for binary in binaries):
        subprocess.run([str(REPO_ROOT / "mlops"), "alerting-packages"], check=False)
    missing = [binary for binary in binaries if not shutil.which(binary)]
    if missing:
        raise processes.ServiceError(f"alerting needs Debian's {', '.join(missing)}: apt-get install them")


def _private(path: Path, text: str) -> None:
    """Written readable by its owner only: it holds the webhook's secret URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def start_alertmanager(work_dir: Path, webhook_url: str, **timings: str) -> processes.Service:
    config = work_dir / "alertmanager.yml"
    _private(config, yaml.safe_dump(alertmanager_config({"api_url": webhook_url}, **timings)))
    port = processes.free_port()
    return processes.start_ready(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={config}",
            f"--storage.path={work_dir / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance: no gossip (it waits for peers to settle)
        ],
        work_dir / "alertmanager.log",
        f"http://127.0.0.1:{port}",
        "/-/ready",
    )


def start_prometheus(
    work_dir: Path,
    targets: dict[str, list[str]],
    alertmanager_url: str | None,
    interval: str = "15s",
    rule_files: tuple[Path, ...] = (RULES,),
) -> processes.Service:
    """Prometheus with the monitoring layer's rules, scraping `targets` (job -> URLs); the
    `pushgateway` job keeps the runs' own labels."""
    port = processes.free_port()
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "honor_labels": job == "pushgateway",
                "static_configs": [{"targets": [url.removeprefix("http://") for url in urls]}],
            }
            for job, urls in targets.items()
        ],
    }
    if alertmanager_url:
        config["alerting"] = prometheus_alerting(alertmanager_url)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    return processes.start_ready(
        "prometheus",
        [
            "prometheus",
            f"--config.file={work_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={work_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        work_dir / "prometheus.log",
        f"http://127.0.0.1:{port}",
        "/-/ready",
    )
