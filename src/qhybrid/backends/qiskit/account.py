"""IBM Quantum account and credential safety: open the service, and keep tokens out of every log and message.

    open_service(instance)   QiskitRuntimeService from QISKIT_IBM_TOKEN or the saved account; clear,
                             credential-free errors
    redact(text)             text with every known credential replaced by '***'
    account_configured()     whether a token or saved account exists (nothing is opened)

Opening the service installs a log-record factory that redacts credentials from every log record of
the process from then on (a process-wide effect, by design: third-party loggers are covered too).
"""
from __future__ import annotations

import logging
import os

from ..._optional import require

_SECRETS: set[str] = set()
_REDACTING = False
_MISSING = ("no IBM Quantum account is configured. Set the environment variable QISKIT_IBM_TOKEN=<API key> "
            "(and QISKIT_IBM_INSTANCE=<CRN> if you have several instances), or save the account once: "
            "python -c \"from qiskit_ibm_runtime import QiskitRuntimeService as S; "
            "S.save_account(token='<API key>', channel='ibm_quantum_platform', set_as_default=True)\". "
            "Never put the key in a config file. To rehearse offline use ibm:fake_<device> or QHYBRID_IBM_LOCAL=1 "
            "(qiskit-ibm-runtime local testing mode)")


def _remember_secrets() -> None:
    tok = os.environ.get("QISKIT_IBM_TOKEN")
    if tok:
        _SECRETS.add(tok)
    try:
        from qiskit_ibm_runtime.accounts import AccountManager
        saved = AccountManager.get().token
        if saved:
            _SECRETS.add(saved)
    except Exception:
        pass


def redact(text: str) -> str:
    """text with every known credential replaced by '***'."""
    tok = os.environ.get("QISKIT_IBM_TOKEN")
    for s in _SECRETS | ({tok} if tok else set()):
        if len(s) >= 4:
            text = text.replace(s, "***")
    return text


def _install_log_redaction() -> None:
    """Redact credentials from every log record (message, args and exception text) from now on."""
    global _REDACTING
    if _REDACTING:
        return
    old = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        rec = old(*args, **kwargs)
        if _SECRETS:
            try:
                msg = rec.getMessage()
            except Exception:
                return rec
            if redact(msg) != msg:
                rec.msg, rec.args = redact(msg), ()
            if rec.exc_info:
                text = logging.Formatter().formatException(rec.exc_info)
                if redact(text) != text:
                    rec.exc_text, rec.exc_info = redact(text), None
        return rec

    logging.setLogRecordFactory(factory)
    _REDACTING = True


def open_service(instance: str | None = None):
    """QiskitRuntimeService from QISKIT_IBM_TOKEN or the saved account; clear, credential-free errors."""
    rt = require("qiskit_ibm_runtime")
    from qiskit_ibm_runtime.accounts.exceptions import AccountNotFoundError
    _remember_secrets()
    _install_log_redaction()
    problem = None
    try:
        return rt.QiskitRuntimeService(instance=instance) if instance else rt.QiskitRuntimeService()
    except AccountNotFoundError:
        problem = "missing"
    except Exception as e:
        problem = redact(f"{type(e).__name__}: {e}")
    if problem == "missing":
        raise ValueError(_MISSING)
    raise ValueError(f"could not open IBM Quantum ({problem}). Check the token (QISKIT_IBM_TOKEN or the saved "
                     f"account), QISKIT_IBM_INSTANCE and the network; to rehearse offline use ibm:fake_<device>")


def account_configured() -> bool:
    """True when QISKIT_IBM_TOKEN is set or an account is saved (nothing is opened or sent)."""
    if os.environ.get("QISKIT_IBM_TOKEN"):
        return True
    try:
        from qiskit_ibm_runtime.accounts import AccountManager
        AccountManager.get()
        return True
    except Exception:
        return False
