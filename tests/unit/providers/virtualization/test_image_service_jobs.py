"""The image service's storage jobs carry the image layer's progress as it
happens and its failures with Hyper-V's codes; the image layer is replaced
by a stand-in that the test steps through."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from uuid import UUID

import pytest
from pywbem import CIMInstance, Uint16, Uint64

from cimprovider.backends.images import ImageInUseError, ImageNotFoundError, InvalidImageParameterError
from cimprovider.jobs import JobRunner, JobState
from cimprovider.providers.virtualization.storage.images import ImageManagementService
from cimprovider.providers.virtualization.ids import parse_guid
from tests.support.waiting import DEADLINE, wait_until

NS = "root/virtualization/v2"


class SteppedImages:
    """Reports 25 %, waits, reports 70 %, waits, then ends or raises."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.steps = [threading.Event(), threading.Event()]
        self.reached = [threading.Event(), threading.Event()]

    def _work(self, progress) -> None:
        for percent, reached, step in zip((25, 70), self.reached, self.steps):
            progress(percent)
            reached.set()
            assert step.wait(DEADLINE)
        if self.error is not None:
            raise self.error
        progress(100)

    def resize(self, path, size, progress) -> None:
        self._work(progress)

    def create(self, settings, progress) -> None:
        self._work(progress)


@pytest.fixture
def runner():
    jobs = JobRunner(workers=2)
    yield jobs
    jobs.close(wait=False)


def _job_id(answer) -> UUID:
    assert answer.return_value == 4096
    return parse_guid(answer.out_params["Job"]["InstanceID"])


def _percent_when(runner: JobRunner, job_id: UUID, event: threading.Event) -> int:
    assert event.wait(DEADLINE)
    wait_until(lambda: runner.get(job_id).state is JobState.RUNNING, "the job running")
    return runner.get(job_id).percent_complete


def test_percent_complete_follows_the_image_layer(runner: JobRunner) -> None:
    images = SteppedImages()
    service = ImageManagementService(SimpleNamespace(jobs=runner, namespace=NS), images)  # type: ignore[arg-type]
    job_id = _job_id(service.invoke_method(None, "x", "ResizeVirtualHardDisk", {"Path": "/d/a.vhd", "MaxInternalSize": Uint64(1024 * 1024)}))
    assert _percent_when(runner, job_id, images.reached[0]) == 25
    images.steps[0].set()
    assert _percent_when(runner, job_id, images.reached[1]) == 70
    images.steps[1].set()
    done = runner.wait(job_id, DEADLINE)
    assert (done.state, done.percent_complete, done.error_code) == (JobState.COMPLETED, 100, 0)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (ImageInUseError("/d/a.vhd is attached to a running virtual machine"), 32774, "/d/a.vhd is attached to a running virtual machine"),
        (ImageNotFoundError("/d/a.vhd: no such image file"), 32779, "/d/a.vhd: no such image file"),
        (InvalidImageParameterError("max_internal_size", "too small"), 32773, "MaxInternalSize: too small"),
        (OSError(28, "No space left on device"), 32768, "No space left on device"),
    ],
)
def test_a_failure_ends_the_job_with_its_code_and_message(runner: JobRunner, error, code, message) -> None:
    images = SteppedImages(error)
    for step in images.steps:
        step.set()
    service = ImageManagementService(SimpleNamespace(jobs=runner, namespace=NS), images)  # type: ignore[arg-type]
    vhdsd = CIMInstance("Msvm_VirtualHardDiskSettingData", properties={
        "Type": Uint16(3), "Format": Uint16(2), "Path": "/d/a.vhd", "MaxInternalSize": Uint64(1024 * 1024)})
    job_id = _job_id(service.invoke_method(None, "x", "CreateVirtualHardDisk", {"VirtualDiskSettingData": vhdsd}))
    done = runner.wait(job_id, DEADLINE)
    assert (done.state, done.error_code, done.percent_complete) == (JobState.EXCEPTION, code, 70)
    assert message in done.error_description
