"""The build's one compiled part: parsers/_fastrow.c, the Rust evtx backend's optional row
builder (see that file). ``optional=True``: without a C compiler the install still
succeeds and parsers/evtx.py uses its pure-Python path, which gives the same rows."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("parsers._fastrow", ["parsers/_fastrow.c"], optional=True)])
