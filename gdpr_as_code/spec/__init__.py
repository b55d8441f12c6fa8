"""The spec: the YAML file people review in git, loaded into a typed immutable model (``Spec``).

This package is the only place that parses YAML. ``load_spec`` returns a checked ``Spec`` or raises
``SpecError`` with every problem at once; ``load_yaml_document`` gives other YAML files (the inventory) the
same line-precise loading and schema validation.
"""

from gdpr_as_code.spec.gdpr_model import ConsentSettings, DataItem, ExportDelivery, Gdpr, RequestType
from gdpr_as_code.spec.load import load_spec, validate
from gdpr_as_code.spec.model import (
    ConsentFocus,
    ContactField,
    Email,
    FocusColors,
    Form,
    FormAction,
    FormField,
    Segment,
    SegmentFilter,
    Spec,
    Target,
)
from gdpr_as_code.spec.schema import spec_schema, spec_schema_text
from gdpr_as_code.spec.yaml_loader import Locator, load_yaml_document

__all__ = [
    "ConsentFocus",
    "ConsentSettings",
    "ContactField",
    "DataItem",
    "Email",
    "ExportDelivery",
    "FocusColors",
    "Form",
    "FormAction",
    "FormField",
    "Gdpr",
    "Locator",
    "RequestType",
    "Segment",
    "SegmentFilter",
    "Spec",
    "Target",
    "load_spec",
    "load_yaml_document",
    "spec_schema",
    "spec_schema_text",
    "validate",
]
