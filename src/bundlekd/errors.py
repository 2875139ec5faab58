"""Exception hierarchy. Exceptions are for our bugs and infrastructure failures;
bad model output is a result (`bundlekd.data.answer.parse_answer` returns a ParseResult), not an
exception."""


class BundleKDError(Exception):
    """Base class: the CLI maps it to a one-line message and exit code 1."""


class ConfigError(BundleKDError):
    """Invalid configuration or command-line option."""


class DataError(BundleKDError):
    """Malformed or inconsistent input data; the message names file, line and field."""


class KnowledgeBaseError(BundleKDError):
    """A knowledge-base operation could not be carried out."""


class LeakageError(BundleKDError):
    """Test-split data would feed a knowledge base or training set."""


class LLMError(BundleKDError):
    """A language-model backend failed (not: the model answered badly)."""


class BackendUnavailableError(LLMError):
    """A backend or its dependency is missing or unreachable."""
