"""Backup metrics as the estate publishes them (a Pushgateway, a node-exporter textfile over
HTTP): fetched from the job's host without credentials and parsed with prometheus_client.

    >>> sample = 'backup_success{job="c"} 1\\nbackup_timestamp_seconds{job="c"} 1.7e9\\n'
    >>> values = parse(sample, {"job": "c"})
    >>> values["backup_success"], values["backup_timestamp_seconds"]
    (1.0, 1700000000.0)
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from backup_drills.core.hostfile import TEXTFILE_CAP, read_file
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.inventory.schema import Metrics


def parse(text: str, labels: dict[str, str]) -> dict[str, float]:
    """Each metric's value among the samples that carry all of ``labels`` (the last one wins)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                values[sample.name] = float(sample.value)
    return values


def scrape(remote: Remote, metrics: Metrics, job: str = "") -> dict[str, float]:
    """The job's metrics, asked from its host (so a Pushgateway on localhost works too), or its
    textfile read there (never through a link: ``backup_drills.core.hostfile``). A textfile that is
    gone reads as no metrics at all; a link, a FIFO or a file too large is COULD NOT RUN."""
    if metrics.textfile is not None:
        found = read_file(remote, metrics.textfile, TEXTFILE_CAP)
        if not found.exists:
            return {}
        if found.problem is not None:
            raise DrillCouldNotRun(f"host {remote.name}{f', job {job}' if job else ''}: metrics "
                                   f"textfile {metrics.textfile} {found.problem}")
        text = found.data.decode("utf-8", errors="replace")
    else:
        fetched = remote.run(argv("curl", "-sS", "-f", "-m", "10", "--", str(metrics.url)), timeout=20,
                             privileged=False)
        if not fetched.ok:
            raise DrillCouldNotRun(f"host {remote.name}: metrics at {metrics.url} did not "
                                   f"answer: {fetched.tail(2)}")
        text = fetched.text
    try:
        return parse(text, metrics.labels)
    except ValueError as exc:
        raise DrillCouldNotRun(f"host {remote.name}: metrics at {metrics.where} are not in the "
                               f"Prometheus text format: {exc}") from exc
