"""Option, ini and marker names: shared by the plugin and the settings, and import-free, so
loading the plugin costs a pytest run nothing until a test uses a cassette."""

OPT_RECORD = "sse_record"
OPT_SPEED = "sse_speed_option"
INI_DIR = "sse_cassette_dir"
INI_MODE = "sse_record_mode"
INI_SPEED = "sse_speed"
INI_REDACT_HEADERS = "sse_redact_headers"
INI_REDACT_QUERY = "sse_redact_query"
INI_REDACT_BODY_KEYS = "sse_redact_body_keys"
MARKER = "sse_cassette"
RECORD_MODES = ("none", "once", "new", "all", "verify")
INI_UNUSED = "sse_unused"
UNUSED_CHOICES = ("ignore", "warn", "fail")
INI_ALLOW_HOSTS = "sse_allow_hosts"
OPT_BLOCK_NETWORK = "sse_block_network"
OPT_ORPHANS = "sse_orphans"
OPT_EXPIRED = "sse_expired"
EXPIRED_ACTIONS = ("warn", "fail", "record")
INI_TERMINAL = "sse_terminal"
INI_INCOMPLETE = "sse_incomplete"
INI_RECORD_ON_ERROR = "sse_record_on_error"
INI_DRIFT = "sse_drift"
INI_VERIFY_TIMING = "sse_verify_timing"
INI_MAX_AGE = "sse_max_age"
