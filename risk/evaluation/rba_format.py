"""The columns of the public RBA login data set (das-group/rba-dataset, CC BY 4.0), in file order.

Shared by the replay (which reads them) and the simulator (which writes them); see docs/risk-model.md.
"""

COLUMNS = (
    "index",
    "Login Timestamp",
    "User ID",
    "Round-Trip Time [ms]",
    "IP Address",
    "Country",
    "Region",
    "City",
    "ASN",
    "User Agent String",
    "Browser Name and Version",
    "OS Name and Version",
    "Device Type",
    "Login Successful",
    "Is Attack IP",
    "Is Account Takeover",
)
