"""CRMs described by a mapping file (YAML) instead of code; see docs/crm-mapping.md."""

from .engine import MappingConnector, PreparedLog, load_mapping
from .loader import MappingFileError, read_mapping

__all__ = ["MappingConnector", "MappingFileError", "PreparedLog", "load_mapping",
           "read_mapping"]
