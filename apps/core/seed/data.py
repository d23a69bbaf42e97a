"""The people and the inventory of the demo bank.

Product names are spelled as endoflife.date spells them, so lifecycle imports
match the demo components. Every host name is under bank.example (or
127.0.0.1): nothing here points at a real external host.
"""

PASSWORD = "tollgate-demo"
URL = "http://127.0.0.1:8000"
EMAIL_DOMAIN = "tollgate.example"

TEAMS = [
    # slug, name
    ("core-banking", "Core Banking"),
    ("payments", "Payments"),
    ("digital-channels", "Digital Channels"),
    ("data-platform", "Data Platform"),
    ("infrastructure", "Infrastructure"),
    ("corporate-it", "Corporate IT"),
]

USERS = [
    # username, first name, last name, roles, teams, time zone
    ("admin", "Alex", "Morgan", ["admin"], [], "UTC"),
    ("manager", "Anna", "Schneider", ["change_manager"], ["core-banking"], "Europe/Berlin"),
    ("manager2", "Marcus", "Reed", ["change_manager"], ["digital-channels"], "America/New_York"),
    ("cab1", "Olivia", "Bennett", ["cab_member"], ["payments"], "Europe/London"),
    ("cab2", "Rafael", "Ortega", ["cab_member"], ["infrastructure"], "Europe/Madrid"),
    ("cab3", "Mei Ling", "Tan", ["cab_member"], ["data-platform"], "Asia/Singapore"),
    ("implementer", "Priya", "Raman", ["implementer"], ["infrastructure"], "Asia/Kolkata"),
    ("validator", "Tomasz", "Nowak", ["validator"], ["payments"], "Europe/Warsaw"),
    ("exec", "Catherine", "Moreau", ["executive"], [], "Europe/Paris"),
    ("auditor", "Henrik", "Lindqvist", ["auditor"], [], "Europe/Stockholm"),
]
USERNAMES = [u[0] for u in USERS]
MANAGERS = ("manager", "manager2")
CAB = ("cab1", "cab2", "cab3")

ENVIRONMENTS = [
    # slug, name, kind, order
    ("production", "Production", "production", 0),
    ("staging", "Staging", "staging", 1),
    ("dr", "Disaster recovery", "dr", 2),
]

# slug: (name, team, criticality, region, description, workflows, [(component, product, production version)])
SYSTEMS = {
    "core-ledger": (
        "Core Ledger", "core-banking", "critical", "eu-central",
        "The bank's general ledger: every account balance and posting.",
        ["End-of-day balancing", "Interest accrual", "Account postings"],
        [("ledger-db", "postgresql", "13.14"), ("ledger-app", "eclipse-temurin", "11.0.22"),
         ("ledger-host", "rhel", "8.9")],
    ),
    "payments-hub": (
        "Payments Hub", "payments", "critical", "eu-central",
        "Routes SEPA, SWIFT and instant payments between channels, the ledger and the schemes.",
        ["SEPA credit transfers", "Instant payments", "SWIFT outgoing"],
        [("hub-app", "tomcat", "9.0.85"), ("hub-jvm", "eclipse-temurin", "11.0.22"),
         ("hub-host", "ubuntu", "20.04"), ("hub-cache", "redis", "6.2.14")],
    ),
    "card-switch": (
        "Card Switch", "payments", "critical", "eu-west",
        "Authorises debit and credit card transactions with the card schemes.",
        ["Card authorisation", "Chargebacks"],
        [("switch-db", "oracle-database", "19.22"), ("switch-host", "rhel", "8.9"),
         ("switch-tls", "openssl", "1.1.1w")],
    ),
    "online-banking": (
        "Online Banking Web", "digital-channels", "critical", "eu-west",
        "The customers' web banking: balances, transfers, statements.",
        ["Customer login", "Domestic transfers", "Statement download"],
        [("web-app", "django", "4.2.16"), ("web-runtime", "python", "3.9.18"),
         ("web-proxy", "nginx", "1.24.0"), ("web-host", "ubuntu", "20.04")],
    ),
    "mobile-gateway": (
        "Mobile API Gateway", "digital-channels", "high", "eu-west",
        "The API the mobile banking apps talk to.",
        ["Mobile login", "Push payment approval"],
        [("gateway", "nodejs", "18.19.0"), ("gateway-proxy", "nginx", "1.24.0")],
    ),
    "crm": (
        "Customer CRM", "digital-channels", "high", "us-east",
        "Customer relationship management for branches and the call centre.",
        ["Call-centre customer lookup", "Complaint handling"],
        [("crm-db", "mysql", "8.0.36"), ("crm-app", "php", "8.1.27"), ("crm-host", "ubuntu", "22.04")],
    ),
    "data-warehouse": (
        "Data Warehouse", "data-platform", "high", "eu-central",
        "Analytical store fed nightly from the ledger and in real time from the payment streams.",
        ["Management reporting", "Customer analytics"],
        [("dwh-db", "postgresql", "14.11"), ("dwh-etl", "python", "3.10.13"),
         ("dwh-stream", "apache-kafka", "3.5.1")],
    ),
    "identity-provider": (
        "Identity Provider", "infrastructure", "critical", "eu-central",
        "Single sign-on (OIDC) for customers and staff.",
        ["Customer login", "Staff single sign-on", "Strong customer authentication"],
        [("idp", "keycloak", "21.1.2"), ("sso-api", "bank-sso-api", "2.4.1"),
         ("idp-db", "postgresql", "15.6"), ("idp-jvm", "eclipse-temurin", "17.0.10")],
    ),
    "message-broker": (
        "Message Broker", "infrastructure", "critical", "eu-central",
        "The asynchronous backbone between ledger, payments and notifications.",
        ["Payment event delivery", "Customer notifications"],
        [("broker", "rabbitmq", "3.11.28"), ("broker-runtime", "erlang", "25.3.2"),
         ("broker-host", "rhel", "8.9")],
    ),
    "document-archive": (
        "Document Archive", "core-banking", "medium", "eu-central",
        "Contracts, statements and KYC documents under legal retention.",
        ["Statement archive", "KYC document retrieval"],
        [("archive-db", "mongodb", "5.0.24"), ("archive-app", "tomcat", "9.0.85"),
         ("archive-search", "elasticsearch", "7.17.18")],
    ),
    "fraud-scoring": (
        "Fraud Scoring", "payments", "critical", "eu-west",
        "Scores every outgoing payment and card transaction for fraud in real time.",
        ["Payment screening", "Card fraud alerts"],
        [("scoring-api", "python", "3.10.13"), ("scoring-cache", "redis", "6.2.14")],
    ),
    "treasury": (
        "Treasury Management", "core-banking", "high", "us-east",
        "Liquidity, FX and money-market positions of the New York desk.",
        ["Daily liquidity report", "FX deal capture"],
        [("treasury-db", "oracle-database", "19.22"), ("treasury-host", "windows-server", "2016"),
         ("treasury-app", "dotnet", "6.0.27")],
    ),
    "regulatory-reporting": (
        "Regulatory Reporting", "data-platform", "high", "eu-central",
        "COREP/FINREP and AnaCredit submissions to the supervisor.",
        ["COREP submission", "AnaCredit monthly report"],
        [("report-db", "postgresql", "13.14"), ("report-app", "django", "4.2.16"),
         ("report-runtime", "python", "3.9.18")],
    ),
    "hr-portal": (
        "HR Portal", "corporate-it", "low", "eu-west",
        "Leave requests, payslips and staff records.",
        ["Payslip download", "Leave requests"],
        [("hr-app", "nodejs", "18.19.0"), ("hr-db", "mariadb", "10.6.16"), ("hr-host", "ubuntu", "20.04")],
    ),
    "erp": (
        "ERP", "corporate-it", "medium", "eu-central",
        "Procurement, invoices and the bank's own bookkeeping.",
        ["Supplier invoices", "Month-end close"],
        [("erp-db", "postgresql", "12.18"), ("erp-host", "rhel", "7.9")],
    ),
    "container-platform": (
        "Container Platform", "infrastructure", "critical", "eu-central",
        "The Kubernetes clusters the newer services run on.",
        ["Hosting of containerised services"],
        [("cluster", "kubernetes", "1.27.8"), ("ingress", "nginx", "1.24.0"), ("node-os", "ubuntu", "22.04")],
    ),
    "atm-network": (
        "ATM Network Controller", "payments", "high", "ap-south",
        "Drives the ATM fleet: cash withdrawals, deposits and monitoring.",
        ["Cash withdrawal", "ATM cash monitoring"],
        [("atm-app", "tomcat", "9.0.85"), ("atm-jvm", "eclipse-temurin", "11.0.22"),
         ("atm-host", "rhel", "8.9")],
    ),
}
# low and medium systems have no disaster-recovery copy
NO_DR = {"hr-portal", "erp", "document-archive"}

# (source system, source component, target system, target component, constraint, kind, description)
DEPENDENCIES = [
    ("payments-hub", "hub-app", "core-ledger", "ledger-db", ">=13 <17", "semver", "Posts payments"),
    ("payments-hub", "hub-app", "message-broker", "broker", ">=3.9 <3.14", "semver", "Payment events"),
    ("payments-hub", "", "fraud-scoring", "", "", "semver", "Scores every outgoing payment"),
    ("core-ledger", "ledger-app", "message-broker", "broker", ">=3.10", "semver", "Posting events"),
    ("online-banking", "web-app", "identity-provider", "sso-api", "^2.0", "semver", "Customer login (OIDC)"),
    ("online-banking", "", "core-ledger", "", "", "semver", "Balances and postings"),
    ("online-banking", "", "payments-hub", "", "", "semver", "Customer transfers"),
    ("mobile-gateway", "gateway", "identity-provider", "sso-api", "^2.1", "semver", "Token introspection"),
    ("mobile-gateway", "", "online-banking", "", "", "semver", "Shares the banking API"),
    ("card-switch", "", "payments-hub", "", "", "semver", "Card settlement"),
    ("atm-network", "", "card-switch", "", "", "semver", "Card authorisation at ATMs"),
    ("crm", "crm-app", "identity-provider", "sso-api", "^2.0", "semver", "Staff single sign-on"),
    ("data-warehouse", "dwh-etl", "core-ledger", "ledger-db", ">=12", "semver", "Nightly extract"),
    ("regulatory-reporting", "report-app", "data-warehouse", "dwh-db", ">=14, <17", "semver", "Data marts"),
    ("regulatory-reporting", "report-app", "online-banking", "web-app", ">=4.2,<5.3", "pep440",
     "Reuses the consent-records Django app"),
    ("fraud-scoring", "scoring-api", "data-warehouse", "dwh-etl", ">=3.10,<3.13", "pep440",
     "Shares the feature-store client package"),
    ("fraud-scoring", "", "container-platform", "cluster", ">=1.27 <1.31", "semver", "Runs on the platform"),
    ("mobile-gateway", "", "container-platform", "cluster", ">=1.26 <1.31", "semver", "Runs on the platform"),
    ("treasury", "treasury-app", "core-ledger", "ledger-db", ">=13 <17", "semver", "Position feed"),
    ("document-archive", "", "core-ledger", "", "", "semver", "Statement generation"),
    ("hr-portal", "hr-app", "identity-provider", "sso-api", "^2.0", "semver", "Staff single sign-on"),
    ("erp", "", "identity-provider", "", "", "semver", "Staff single sign-on"),
]

# (system, name, third party, protocol, production health endpoint of the system or "", notes)
INTEGRATIONS = [
    ("core-ledger", "Nostro statements", "SWIFT", "SWIFT FIN", "health",
     "MT940/MT950 statements from correspondent banks arrive through the SWIFT Alliance gateway "
     "at 06:00 CET."),
    ("payments-hub", "Outgoing cross-border payments", "SWIFT", "SWIFT FIN", "health",
     "MT103 and pacs.008 to correspondents; the Alliance Access queue holds messages for 24 hours."),
    ("payments-hub", "SEPA clearing", "EBA Clearing (STEP2)", "SFTP batch", "",
     "Bulk files every 30 minutes on working days; missed cycles roll to the next one."),
    ("card-switch", "Card authorisations", "Visa", "ISO 8583", "health",
     "Stand-in processing at Visa approves up to the agreed floor limits while the switch is down."),
    ("card-switch", "Mastercard authorisations", "Mastercard", "ISO 8583", "",
     "Stand-in processing by Mastercard; call the Mastercard operations desk before a planned outage."),
    ("online-banking", "Credit checks", "Experian credit bureau", "REST", "",
     "Loan and overdraft applications call the bureau API; without it applications wait for manual review."),
    ("hr-portal", "Monthly payroll", "ADP payroll provider", "SFTP batch", "",
     "Salary file sent on the 20th; a late file must reach ADP by the 24th to pay on time."),
]

_ENV_HOST = {"production": "bank.example", "staging": "staging.bank.example", "dr": "dr.bank.example"}
_DB_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "oracle-database": 1521, "mongodb": 27017}


def endpoints(slug: str, components: list[tuple[str, str, str]], env: str) -> list[tuple[str, str, str, str]]:
    """(name, kind, target, expected) health endpoints of one system in one environment."""
    host = _ENV_HOST[env]
    found = [("health", "http", f"https://{slug}.{host}/healthz", "status 200")]
    if slug == "online-banking" and env == "staging":
        # the one endpoint a laptop demo can reach: Tollgate's own liveness probe
        found = [("health", "http", "http://127.0.0.1:8000/healthz", "status 200")]
    for name, product, _ in components:
        if product in _DB_PORTS:
            kind = "sql" if env == "production" else "tcp"
            found.append((f"{name} probe", kind, f"{name}.{host}:{_DB_PORTS[product]}", "select 1"))
        elif product in ("nginx", "openssl") and env == "production":
            found.append((f"{name} certificate", "tls", f"{slug}.{host}:443", "valid for 21 days or more"))
        elif product in ("rabbitmq", "redis", "apache-kafka"):
            port = {"rabbitmq": 5672, "redis": 6379, "apache-kafka": 9092}[product]
            found.append((f"{name} port", "tcp", f"{name}.{host}:{port}", ""))
    return found
