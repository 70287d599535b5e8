"""The page's Jinja2 templates (this package's `templates/`), with the document templates' base page and
macros (`genesys_erasure/templates`) reachable too, so the page looks like the reports it links to.
Autoescaped, undefined names fail."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from genesys_erasure.templates import environment as documents_environment


@cache
def environment() -> Environment:
    documents = documents_environment()
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("genesys_erasure.evidence_ui", "templates"),
                PackageLoader("genesys_erasure", "templates"),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(documents.filters)
    env.globals.update(documents.globals)
    return env


def page(template: str, /, **context: Any) -> str:
    return environment().get_template(template).render(**context)
