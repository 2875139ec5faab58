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


class TransportError(LLMError):
    """A request did not get an answer (timeout, HTTP 5xx/429 after the retries, a dropped
    connection). Never a prediction: the batch stops, and a re-run retries those sessions."""


class BackendUnavailableError(TransportError):
    """A backend or its dependency is missing or unreachable."""


class EngineError(BundleKDError):
    """A distributed engine failed (the Ray cluster is unreachable, or a batch failed on a
    worker for a reason that is not one of ours). Finished predictions stay; a re-run resumes."""


class WriteError(BundleKDError):
    """An output could not be written (read-only filesystem, a path under a file, a folder
    where a file should be, no space); the message names the path."""
