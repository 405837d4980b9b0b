"""The Qiskit edge of the backends: Aer and IBM Quantum estimators with parameter-shift gradients.

    expand.py        the circuit exported with one parameter per angle occurrence
    param_shift.py   one job per circuit per pass, parameter-shift backward, job seeds from torch;
                     the estimator-backend base class
    aer.py, aer_estimator.py    aer[:fake_<device>]
    ibm.py, account.py, jobs.py ibm:<device>, credentials and redaction, budget and retries
    devices.py       fake devices (snapshots), compiling for a device
    qpu_time.py      QPU-time estimates of a circuit

Nothing here is imported by `import qhybrid`; the registry loads these modules on first use.
"""
