"""Synthetic lifecycle data: whole, deterministic customer lifecycles at any volume.

``generate(SynthParams(accounts=1000, seed=7), Path("out"))`` writes one file per
object type of ``lifecycle.entities.SYSTEM_TYPES`` and ``manifest.json``.
"""

from lifecycle.synth.generator import GENERATOR_VERSION, MANIFEST, SynthParams, generate

__all__ = ["GENERATOR_VERSION", "MANIFEST", "SynthParams", "generate"]
