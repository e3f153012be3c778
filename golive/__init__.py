"""golive: a pre-go-live harness for quote-to-cash integrations.

The package is the face of the project (CLI, config, reports); the work lives in
``lifecycle``, ``simulators``, ``contracts``, ``scenarios`` and ``loadtests``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
