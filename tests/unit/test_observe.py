"""drills.core.observe: readings are taken once, and all of a host's before the drill acts there."""

import pytest

from drills.core.observe import FOUND, READINGS, Reading, reading
from drills.inventory.schema import Job


def job(name: str, host: str = "akira") -> Job:
    return Job.model_validate({"name": name, "host": host, "kind": "restic", "rpo": "26h",
                               "source": "/flux", "repository": "/srv/restic", "rto": "1h"})


class Host:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def counted():
    """A registered reading that counts its reads per job, removed afterwards."""
    reads: list[str] = []
    found = reading("count", lambda job: job.name != "skipped",
                    lambda remote, job: reads.append(job.name) or len(reads))
    yield found, reads
    READINGS.pop("count")


def test_a_reading_is_taken_once_and_kept(counted):
    found, reads = counted
    akira = Host("akira")
    assert found(akira, job("a")) == found(akira, job("a")) == 1
    assert found(akira, job("b")) == 2
    assert reads == ["a", "b"]


def test_acting_on_one_job_first_reads_every_job_of_its_host_and_no_other(counted):
    found, reads = counted
    FOUND.know_jobs([job("a"), job("b"), job("skipped"), job("elsewhere", host="motoko")])
    FOUND.before_acting(Host("akira"), job("a"))
    assert sorted(reads) == ["a", "b"]
    FOUND.before_acting(Host("akira"), job("b"))  # once per host
    assert sorted(reads) == ["a", "b"]
    assert found(Host("akira"), job("b")) in (1, 2)  # as found, not read again


def test_a_reading_that_failed_fails_again_when_asked():
    calls = []

    def broken(remote, job):
        calls.append(1)
        raise RuntimeError("host akira unreachable")

    failing = Reading("broken", lambda job: True, broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="unreachable"):
            failing(Host("akira"), job("a"))
    assert len(calls) == 1
