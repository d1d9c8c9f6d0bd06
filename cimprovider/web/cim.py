"""CIM operations as the signed-in user, in process: the console's only way
to the model. Each call is the same IntrinsicCall / ExtrinsicCall the wire
decodes from a WBEM client, run by the same CIMOM with the same principal,
so roles, providers, jobs and errors are exactly a client's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pywbem import CIMError, CIMInstance, CIMInstanceName

from cimprovider.cimom import CIMOM, Principal, operation_failure
from cimprovider.wire.messages import ExtrinsicCall, IntrinsicCall, ParamValue

NAMESPACE = "root/virtualization/v2"
JOB_STARTED = 4096
FINISHED_JOB_STATES = {7, 8, 9, 10, 32768}
# Hyper-V's method return codes (msvm-v2.md §3), said in words.
RETURN_CODES = {
    1: "not supported", 2: "failed", 3: "timed out", 4: "invalid parameter", 5: "invalid state",
    32768: "failed", 32769: "access denied", 32770: "not supported", 32771: "status unknown",
    32772: "timed out", 32773: "invalid parameter", 32774: "system in use", 32775: "invalid state for this operation",
    32776: "incorrect data type", 32777: "system not available", 32778: "out of memory",
    32779: "file not found", 32780: "not ready", 32781: "machine locked", 32782: "shutting down",
}


class ActionFailed(Exception):
    """A CIM operation or method failed; the message is what a CIM client
    would be told, in words, naming the operation."""


def code_text(code: int) -> str:
    return f"{code} ({RETURN_CODES[code]})" if code in RETURN_CODES else str(code)


class CIMClient:
    """A WBEM client's operations, answered by the in-process CIMOM."""

    def __init__(self, cimom: CIMOM, principal: Principal, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cimom = cimom
        self.principal = principal
        self.sleep = sleep

    def _intrinsic(self, method: str, namespace: str = NAMESPACE, **params: Any) -> Any:
        call = IntrinsicCall("web", method, namespace, params)
        try:
            result = self.cimom.intrinsic(call, self.principal)
            value = result.value
            return list(value) if value is not None and not isinstance(value, (CIMInstance, int, str)) else value
        except CIMError as error:
            raise ActionFailed(f"{method}: {describe(error)}") from None
        except Exception as exc:  # noqa: BLE001 - said as a CIM client would be told
            raise ActionFailed(f"{method}: {describe(operation_failure(method, exc))}") from None

    def enumerate(self, classname: str, namespace: str = NAMESPACE) -> list[CIMInstance]:
        return self._intrinsic("EnumerateInstances", namespace, ClassName=classname, DeepInheritance=True)

    def get(self, path: CIMInstanceName) -> CIMInstance:
        local = path.copy()
        namespace = local.namespace or NAMESPACE
        local.namespace = None
        local.host = None
        instance = self._intrinsic("GetInstance", namespace, InstanceName=local)
        instance.path = path
        return instance

    def associators(self, path: CIMInstanceName, assoc: str | None = None, result: str | None = None) -> list[CIMInstance]:
        params: dict[str, Any] = {"ObjectName": _local(path)}
        if assoc:
            params["AssocClass"] = assoc
        if result:
            params["ResultClass"] = result
        return self._intrinsic("Associators", path.namespace or NAMESPACE, **params)

    def modify(self, instance: CIMInstance) -> None:
        self._intrinsic("ModifyInstance", instance.path.namespace or NAMESPACE, ModifiedInstance=instance)

    def invoke(self, target: CIMInstanceName, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """Run an extrinsic method; (return value, output parameters)."""
        values = tuple(ParamValue(name, None, value) for name, value in params.items())
        namespace = target.namespace or NAMESPACE
        call = ExtrinsicCall("web", method, namespace, _local(target, namespace), values)
        try:
            result = self.cimom.extrinsic(call, self.principal)
        except CIMError as error:
            raise ActionFailed(f"{method}: {describe(error)}") from None
        except Exception as exc:  # noqa: BLE001
            raise ActionFailed(f"{method}: {describe(operation_failure(method, exc))}") from None
        out = {name: value for name, _type, value, _array, _embedded in result.out_params}
        return int(result.return_value), out

    def call(self, target: CIMInstanceName, method: str, what: str, wait: bool = True, **params: Any) -> dict[str, Any]:
        """A Hyper-V method that must succeed: 0, or 4096 and (if `wait`)
        its job completes. ActionFailed says why not, with the job's error."""
        code, out = self.invoke(target, method, **params)
        if code == JOB_STARTED and wait and out.get("Job") is not None:
            self.wait_job(out["Job"], what)
        elif code not in (0, JOB_STARTED):
            raise ActionFailed(f"{what}: {method} returned {code_text(code)}")
        return out

    def wait_job(self, job: CIMInstanceName, what: str, timeout: float = 600.0) -> CIMInstance:
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            instance = self.get(_with_namespace(job))
            if int(instance.get("JobState") or 0) in FINISHED_JOB_STATES:
                break
            if time.monotonic() > deadline:
                raise ActionFailed(f"{what}: job {instance.get('InstanceID')} still running after {timeout:.0f} s")
            self.sleep(delay)
            delay = min(delay * 2, 0.5)
        if int(instance.get("ErrorCode") or 0) != 0 or int(instance["JobState"]) not in (7, 32768):
            detail = instance.get("ErrorDescription") or instance.get("ErrorSummaryDescription") or "the job failed"
            raise ActionFailed(f"{what}: {detail} (error {code_text(int(instance.get('ErrorCode') or 0))})")
        return instance


def describe(error: CIMError) -> str:
    """A CIMError as a client shows it: its name and its message."""
    return f"{error.status_code_name}: {error.status_description}"


def _local(path: CIMInstanceName, namespace: str | None = None) -> CIMInstanceName:
    local = path.copy()
    local.host = None
    local.namespace = namespace or local.namespace or NAMESPACE
    return local


def _with_namespace(path: CIMInstanceName) -> CIMInstanceName:
    found = path.copy()
    found.namespace = found.namespace or NAMESPACE
    return found
