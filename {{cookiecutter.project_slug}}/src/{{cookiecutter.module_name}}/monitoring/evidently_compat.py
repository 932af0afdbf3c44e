"""Import Evidently on pandas 3.

Evidently 0.7.23 (the newest release) imports `pandas.core.dtypes.common.infer_dtype_from_object` when `evidently`
itself is imported (its legacy data-integrity tests), and pandas 3 removed that name, so `import evidently` fails.
Checked: pandas 3 has no public function Evidently would call instead, Evidently has no import that skips its legacy
package, and pinning pandas 2 would move the whole lock back. So `evidently()` restores that one name, built on
pandas' public `pandas.api.types.pandas_dtype` (a dtype's scalar type, as pandas 2 returned it), and changes nothing
else; monitoring never runs the legacy test that uses it. Drop this module once an Evidently release imports on
pandas 3.
"""


def evidently():
    import pandas.core.dtypes.common as common
    from pandas.api.types import pandas_dtype

    if not hasattr(common, "infer_dtype_from_object"):
        common.infer_dtype_from_object = lambda dtype: pandas_dtype(dtype).type
    import evidently

    return evidently
