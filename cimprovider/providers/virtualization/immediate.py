"""The way the VM and switch management services answer their methods:
the work is done before the method returns, so success is 0 with the
results filled in; a failure comes back as Hyper-V reports it in
practice, 4096 and a job that ends in Exception with the Hyper-V code
(32773, 32775…) and a message naming the property at fault. A method
without a Job parameter (GetSummaryInformation) answers the code itself:
its client has no job to read."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from pywbem import CIMInstanceName

from cimprovider.jobs import JobFailure
from cimprovider.providers.base import MethodProvider, MethodReturn, OperationContext
from cimprovider.providers.virtualization.errors import JOB_STARTED, MethodFailure, hyperv_code
from cimprovider.providers.virtualization.jobs import job_path
from cimprovider.providers.virtualization.model import Virtualization

Handler = Callable[[dict[str, Any]], MethodReturn]
log = logging.getLogger(__name__)


class ImmediateMethods(MethodProvider):
    """A service whose `handlers` (by lower-case method name) do their work
    at once; methods without one are the base class's."""

    virt: Virtualization
    handlers: dict[str, Handler]

    def invoke_method(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        handler = self.handlers.get(method.lower())
        if handler is None:
            return super().invoke_method(ctx, target, method, params)
        try:
            return handler(params)
        except Exception as error:  # noqa: BLE001 - every failure becomes a failed job
            if not isinstance(error, MethodFailure) and type(error).__module__.startswith("pywbem"):
                raise
            code, message = hyperv_code(error)
            if not self._reports_jobs(target, method):
                # No Job parameter to poll (GetSummaryInformation): the code alone answers.
                log.info("%s failed with %d: %s", method, code, message)
                return MethodReturn(code)
            return self.failed(method, code, message)

    def _reports_jobs(self, target: CIMInstanceName | str, method: str) -> bool:
        renderer = self.virt.renderer
        classname = target.classname if isinstance(target, CIMInstanceName) else str(target)
        declared = renderer.repository.get_class(renderer.namespace, classname).methods.get(method)
        return declared is None or "Job" in declared.parameters

    def failed(self, method: str, code: int, message: str, affected: tuple[UUID, ...] = ()) -> MethodReturn:
        def work(_progress: Any, _token: Any) -> None:
            raise JobFailure(code, message)

        job = self.virt.jobs.submit(work, method, f"{method} failed", affected, cancellable=False)
        return MethodReturn(JOB_STARTED, {"Job": job_path(self.virt, job.id)})
