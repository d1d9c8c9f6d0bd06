"""CIM_InstMethodCall for the management services' extrinsic methods
(DSP1054): one before the method runs (PreCall, the input parameters) and
one after (the return value, input and output parameters, or the error).

Hooked once, on the invoke path of each service's method provider, so no
method has to remember to raise it. Nothing is built while nobody
subscribes."""

from __future__ import annotations

import logging
import threading
from typing import Any

from pywbem import CIMError, CIMInstance, CIMInstanceName, CIMMethod, CIMProperty, Uint32

from cimprovider.indications.service import IndicationService
from cimprovider.indications.source import MethodCall
from cimprovider.providers.base import InstanceProvider, MethodReturn, OperationContext
from cimprovider.providers.registry import ProviderRegistry

log = logging.getLogger(__name__)

PARAMETERS_CLASS = "__MethodParameters"  # DSP1054's class of the embedded MethodParameters


class RaisingMethodCalls:
    """Stands in for a provider's `invoke_method`: raises the indications
    around the real call."""

    def __init__(self, provider: Any, service: IndicationService) -> None:
        self.provider = provider
        self.invoke = provider.invoke_method
        self.service = service
        self._sources: dict[str, CIMInstance] = {}  # a service's instance does not change
        self._lock = threading.Lock()

    def __call__(self, ctx: OperationContext, target: CIMInstanceName | str, method: str, params: dict[str, Any]) -> MethodReturn:
        classname = target if isinstance(target, str) else target.classname
        if not self.service.has_subscribers or not self.service.may_select(ctx.namespace, classname):
            return self.invoke(ctx, target, method, params)
        source = self._source(ctx, target)
        declaration = _declaration(ctx, source.classname, method)
        self.service.publish(MethodCall(ctx.namespace, source, method, parameters(declaration, params), pre_call=True))
        try:
            answer = self.invoke(ctx, target, method, params)
        except CIMError as error:
            self.service.publish(MethodCall(ctx.namespace, source, method, parameters(declaration, params),
                                            error=[cim_error(error)]))
            raise
        self.service.publish(MethodCall(ctx.namespace, source, method,
                                        parameters(declaration, {**params, **answer.out_params}),
                                        return_value=answer.return_value))
        return answer

    def _source(self, ctx: OperationContext, target: CIMInstanceName | str) -> CIMInstance:
        if isinstance(target, str):  # a static method: the class is the source
            return CIMInstance(target)
        text = target.to_wbem_uri(format="canonical")
        with self._lock:
            found = self._sources.get(text)
        if found is None:
            try:
                found = self.provider.get_instance(ctx, target, None)
            except CIMError:  # the method will answer for a bad target
                found = CIMInstance(target.classname, path=target)
            with self._lock:
                self._sources[text] = found
        return found


def _declaration(ctx: OperationContext, classname: str, method: str) -> CIMMethod | None:
    try:
        return ctx.repository.get_class(ctx.namespace, classname).methods.get(method)
    except CIMError:
        return None


def parameters(declaration: CIMMethod | None, values: dict[str, Any]) -> CIMInstance:
    """The parameters as a __MethodParameters instance, typed as declared.
    A value that does not fit its declaration is left out rather than fail
    the call it describes."""
    instance = CIMInstance(PARAMETERS_CLASS)
    declared = declaration.parameters if declaration is not None else {}
    for name, value in values.items():
        if value is None:
            continue
        param = declared.get(name)
        try:
            if param is None:
                prop = CIMProperty(name, value)
            else:
                embedded = None
                if param.type == "string" and not isinstance(value, str) and (
                    "EmbeddedInstance" in param.qualifiers or "EmbeddedObject" in param.qualifiers
                ):
                    embedded = "instance"
                prop = CIMProperty(param.name, value, type=param.type, is_array=bool(param.is_array),
                                   reference_class=param.reference_class, embedded_object=embedded)
        except (TypeError, ValueError) as exc:
            log.debug("parameter %s left out of a method call indication: %s", name, exc)
            continue
        instance.properties[prop.name] = prop
    return instance


def cim_error(error: CIMError) -> CIMInstance:
    return CIMInstance("CIM_Error", properties=[
        CIMProperty("CIMStatusCode", Uint32(error.status_code), type="uint32"),
        CIMProperty("CIMStatusCodeDescription", error.status_code_name, type="string"),
        CIMProperty("Message", error.status_description or "", type="string"),
    ])


def raise_method_calls(registry: ProviderRegistry, namespace: str, service: IndicationService) -> list[str]:
    """Hook every management service's methods in `namespace` (the
    classes named …Service with both an instance and a method provider);
    the classes hooked."""
    hooked: list[str] = []
    for classname in registry.served_classes(namespace):
        if not classname.lower().endswith("service"):
            continue
        provider = registry.method_provider(namespace, classname)
        if provider is None or not isinstance(provider, InstanceProvider):
            continue
        if not isinstance(provider.invoke_method, RaisingMethodCalls):
            # An instance attribute shadows the class's method: the one
            # place every call to this provider goes through.
            provider.invoke_method = RaisingMethodCalls(provider, service)  # type: ignore[method-assign]
        hooked.append(classname)
    return hooked
