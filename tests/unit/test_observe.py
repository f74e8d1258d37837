"""backup_drills.core.observe: readings are taken once, and all of a host's before the drill acts there."""

import pytest

from backup_drills.core.observe import READINGS, Reading, before_acting, reading
from backup_drills.core.run import DrillRun
from backup_drills.inventory.schema import Job


def job(name: str, host: str = "akira") -> Job:
    return Job.model_validate({"name": name, "host": host, "kind": "restic", "rpo": "26h",
                               "source": "/flux", "repository": "/srv/restic", "rto": "1h"})


RUN = DrillRun()  # a run of their own for the tests below (each reading's name is its own)


class Host:
    def __init__(self, name: str, run: DrillRun = RUN) -> None:
        self.name = name
        self.drill_run = run


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
    run = DrillRun()
    run.found.know_jobs([job("a"), job("b"), job("skipped"), job("elsewhere", host="motoko")])
    before_acting(Host("akira", run), job("a"))
    assert sorted(reads) == ["a", "b"]
    before_acting(Host("akira", run), job("b"))  # once per host
    assert sorted(reads) == ["a", "b"]
    assert found(Host("akira", run), job("b")) in (1, 2)  # as found, not read again
    assert found(Host("akira", DrillRun()), job("b")) == 3  # another run reads the host again


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
