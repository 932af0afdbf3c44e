"""Import Evidently on pandas 3.

Evidently 0.7.23 (the newest release) imports `pandas.core.dtypes.common.infer_dtype_from_object`, which pandas 3
removed; only its legacy column-type test uses it, which monitoring never runs. `evidently()` restores that one name
(as pandas 2 defined it: the numpy scalar type of a dtype) before importing Evidently, and changes nothing else. Drop
this module once an Evidently release imports on pandas 3.
"""


def evidently():
    import numpy as np
    import pandas.core.dtypes.common as common

    if not hasattr(common, "infer_dtype_from_object"):
        common.infer_dtype_from_object = lambda dtype: np.dtype(dtype).type
    import evidently

    return evidently
