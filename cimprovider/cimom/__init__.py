"""Operation semantics: every DSP0200 intrinsic operation, dispatched to
providers, and extrinsic method calls."""

from cimprovider.cimom.dispatcher import ANONYMOUS_ADMIN, CIMOM, Principal
from cimprovider.cimom.failures import is_expected, operation_failure

__all__ = ["ANONYMOUS_ADMIN", "CIMOM", "Principal", "is_expected", "operation_failure"]
