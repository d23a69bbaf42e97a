"""The demo's upgrade requests: what changes, who asks, and how far each got.

Each request is replayed through the upgrade services along its `path` of
transitions; `days_ago` is when it was raised (moved earlier by whole weeks
if its history would otherwise reach into the future).
"""

from dataclasses import dataclass, field

TO_PLANNING = ("start_assessment", "finish_assessment")
TO_CAB = (*TO_PLANNING, "submit_to_cab")
TO_APPROVED = (*TO_CAB, "approve")
TO_SCHEDULED = (*TO_APPROVED, "schedule")
TO_IN_PROGRESS = (*TO_SCHEDULED, "start")
TO_VALIDATING = (*TO_IN_PROGRESS, "hand_to_validation")
TO_COMPLETED = (*TO_VALIDATING, "complete")
TO_CLOSED = (*TO_COMPLETED, "close")

DEFAULT_REASONS = {
    "return_to_planning": "The backout plan does not say how long a restore takes; add the rehearsal timing.",
    "reject": "The risk is not justified by the benefit at this time.",
    "roll_back": "Post-upgrade smoke tests failed; backout executed as planned.",
    "fail": "The upgrade could not be completed inside the window.",
    "replan": "The window collides with another change on a shared dependency.",
    "cancel": "No longer needed.",
}


@dataclass(frozen=True)
class Spec:
    key: str
    requester: str
    risk: str
    title: str
    days_ago: int
    path: tuple
    justification: str = ""
    items: tuple = ()  # (system slug, component name, target version); production and DR copies change
    ref: str = ""  # the change number in the bank's ITSM tool
    window: str = "auto"  # auto | none | now | last_weekend | ahead:<weeks>
    comments: tuple = ()  # (after which step: "create" or a transition, author, text)
    reasons: dict = field(default_factory=dict)
    revises: str = ""  # key of the rejected request this one is a revision of


REQUESTS = [
    # --- closed: done, reviewed, over -----------------------------------------------------------------------
    Spec(
        key="erp-pg", requester="manager", risk="normal", days_ago=352,
        title="Upgrade ERP database PostgreSQL 12 → 16",
        justification=(
            "PostgreSQL 12 is past its end of life: no more security fixes. 16 is supported for years and "
            "the ERP vendor certifies it."
        ),
        items=(("erp", "erp-db", "16.2"),), path=TO_CLOSED, ref="CHG0030871",
        comments=(
            ("finish_assessment", "manager", "Vendor certification for PostgreSQL 16 is on the change."),
        ),
    ),
    Spec(
        key="hr-node20", requester="manager2", risk="standard", days_ago=331,
        title="Node.js 18 → 20 on HR portal",
        justification=(
            "Node.js 18 leaves active support; 20 is the current LTS. Pre-approved standard change for "
            "runtime LTS moves."
        ),
        items=(("hr-portal", "hr-app", "20.11.1"),), path=TO_CLOSED, ref="CHG0030944",
    ),
    Spec(
        key="web-nginx", requester="manager2", risk="standard", days_ago=312,
        title="nginx 1.24 → 1.26 on online banking edge",
        justification="nginx 1.26 is the new stable branch; 1.24 receives no further fixes.",
        items=(("online-banking", "web-proxy", "1.26.0"),), path=TO_CLOSED, ref="CHG0031002",
    ),
    Spec(
        key="ledger-rhel", requester="manager", risk="normal", days_ago=291,
        title="RHEL 8.9 → 8.10 on core ledger hosts",
        justification="8.10 is the last minor release of RHEL 8 and the one that keeps receiving errata.",
        items=(("core-ledger", "ledger-host", "8.10"),), path=TO_CLOSED, ref="CHG0031077",
    ),
    Spec(
        key="broker-312", requester="manager", risk="normal", days_ago=262,
        title="RabbitMQ 3.11 → 3.12 on the message broker",
        justification=(
            "RabbitMQ 3.11 is out of community support. 3.12 brings quorum-queue improvements the payments "
            "team asked for."
        ),
        items=(("message-broker", "broker", "3.12.13"),), path=TO_CLOSED, ref="CHG0031140",
        comments=(
            ("submit_to_cab", "cab2", "Please confirm the payments hub client library supports 3.12."),
            ("approve", "manager", "Confirmed with Payments: their client is tested against 3.12."),
        ),
    ),
    Spec(
        key="switch-openssl3", requester="manager", risk="emergency", days_ago=241,
        title="OpenSSL 1.1.1 → 3.0 on card switch",
        justification=(
            "OpenSSL 1.1.1 is out of public support and the scheme's PCI scan flags it. The card scheme "
            "gave us days, not weeks."
        ),
        items=(("card-switch", "switch-tls", "3.0.13"),), path=TO_CLOSED, ref="CHG0031188",
    ),
    Spec(
        key="k8s-128", requester="manager2", risk="normal", days_ago=211,
        title="Kubernetes 1.27 → 1.28 on the container platform",
        justification=(
            "1.27 leaves upstream support; one minor version at a time, as the platform runbook requires."
        ),
        items=(("container-platform", "cluster", "1.28.9"),), path=TO_CLOSED, ref="CHG0031253",
    ),
    Spec(
        key="hub-ubuntu22", requester="manager", risk="normal", days_ago=199,
        title="Ubuntu 20.04 → 22.04 on payment hub hosts",
        justification="Ubuntu 20.04 standard support ends; the hub hosts must move to a supported LTS.",
        items=(("payments-hub", "hub-host", "22.04"),),
        path=(*TO_IN_PROGRESS, "roll_back", "close"), ref="CHG0031301",
        reasons={
            "roll_back": "The HSM client library failed to load on 22.04; hosts restored from snapshots.",
        },
        comments=(
            ("roll_back", "implementer", "Backout took 41 minutes; all hosts back on 20.04 at 02:10."),
        ),
    ),
    Spec(
        key="dwh-kafka37", requester="manager2", risk="normal", days_ago=181,
        title="Kafka 3.5 → 3.7 on data warehouse streaming",
        justification="Kafka 3.5 is out of support; 3.7 is required for the new tiered storage.",
        items=(("data-warehouse", "dwh-stream", "3.7.0"),),
        path=(*TO_VALIDATING, "fail", "close"), ref="CHG0031356",
        reasons={
            "fail": (
                "Consumer lag on the ledger topic kept growing after the upgrade; validation failed."
            ),
        },
    ),
    Spec(
        key="crm-mysql84", requester="manager2", risk="normal", days_ago=152,
        title="MySQL 8.0 → 8.4 LTS on CRM",
        justification="MySQL 8.0 reaches end of life; 8.4 is the LTS line.",
        items=(("crm", "crm-db", "8.4.0"),), path=TO_CLOSED, ref="CHG0031420",
    ),
    Spec(
        key="archive-es8", requester="manager", risk="normal", days_ago=121,
        title="Elasticsearch 7.17 → 8.13 on document archive search",
        justification="7.x is in maintenance only; 8.13 is needed for the new retention tooling.",
        items=(("document-archive", "archive-search", "8.13.4"),), path=TO_CLOSED, ref="CHG0031488",
    ),
    Spec(
        key="fraud-redis7", requester="manager2", risk="emergency", days_ago=101,
        title="Redis 6.2 → 7.2 on fraud scoring cache",
        justification="A remotely exploitable Redis vulnerability affects 6.2; the fix is only in 7.2.",
        items=(("fraud-scoring", "scoring-cache", "7.2.4"),), path=TO_CLOSED, ref="CHG0031522",
    ),
    # --- completed, review pending --------------------------------------------------------------------------
    Spec(
        key="atm-tomcat10", requester="manager", risk="normal", days_ago=42,
        title="Tomcat 9.0 → 10.1 on ATM network controller",
        justification=(
            "Tomcat 9 support is ending; 10.1 needs the Jakarta namespace, which the vendor's release 5.2 "
            "provides."
        ),
        items=(("atm-network", "atm-app", "10.1.24"),), path=TO_COMPLETED, ref="CHG0031702",
    ),
    Spec(
        key="gateway-node20", requester="manager2", risk="normal", days_ago=33,
        title="Node.js 18 → 20 on mobile API gateway",
        justification="Node.js 18 leaves support; 20 is the LTS the app team builds on.",
        items=(("mobile-gateway", "gateway", "20.12.2"),), path=TO_COMPLETED, ref="CHG0031744",
    ),
    Spec(
        key="idp-pg157", requester="manager", risk="standard", days_ago=27,
        title="PostgreSQL 15.6 → 15.7 on identity provider",
        justification="Minor release with security fixes; pre-approved standard change.",
        items=(("identity-provider", "idp-db", "15.7"),), path=TO_COMPLETED, ref="CHG0031769",
    ),
    # --- rolled back / failed, not yet closed ---------------------------------------------------------------
    Spec(
        key="treasury-ora1923", requester="manager", risk="normal", days_ago=37,
        title="Oracle Database 19.22 → 19.23 release update on treasury",
        justification="Quarterly release update with security fixes.",
        items=(("treasury", "treasury-db", "19.23"),), path=(*TO_VALIDATING, "roll_back"), ref="CHG0031733",
        reasons={
            "roll_back": (
                "FX deal capture reported ORA-600 during validation; restored the pre-upgrade backup."
            ),
        },
    ),
    Spec(
        key="broker-erlang26", requester="manager2", risk="normal", days_ago=24,
        title="Erlang 25 → 26 on message broker",
        justification="RabbitMQ 3.13 needs Erlang 26; this prepares the broker upgrade.",
        items=(("message-broker", "broker-runtime", "26.2.5"),),
        path=(*TO_IN_PROGRESS, "roll_back"), ref="CHG0031790",
    ),
    Spec(
        key="idp-keycloak24", requester="manager", risk="normal", days_ago=30,
        title="Keycloak 21 → 24 on identity provider",
        justification="Keycloak 21 is out of support; 24 is needed for passkeys.",
        items=(("identity-provider", "idp", "24.0.5"),), path=(*TO_IN_PROGRESS, "fail"), ref="CHG0031751",
        reasons={"fail": "The database migration of the realm tables did not finish inside the window."},
    ),
    Spec(
        key="hr-mariadb1011", requester="manager2", risk="normal", days_ago=17,
        title="MariaDB 10.6 → 10.11 on HR portal",
        justification="10.11 is the current LTS; 10.6 support ends.",
        items=(("hr-portal", "hr-db", "10.11.8"),), path=(*TO_VALIDATING, "fail"), ref="CHG0031811",
        reasons={
            "fail": (
                "Payslip PDFs render with the wrong collation; the HR team rejected the validation."
            ),
        },
    ),
    # --- under way now --------------------------------------------------------------------------------------
    Spec(
        key="ledger-jdk17", requester="manager", risk="normal", days_ago=30,
        title="OpenJDK 11 → 17 on core ledger application",
        justification="Java 11 support ends at our vendor; the ledger application is certified on 17.",
        items=(("core-ledger", "ledger-app", "17.0.11"),),
        path=TO_VALIDATING, ref="CHG0031760", window="last_weekend",
        comments=(
            ("hand_to_validation", "validator", "End-of-day balancing run on Monday is the last check."),
        ),
    ),
    Spec(
        key="gateway-nginx", requester="manager2", risk="standard", days_ago=20,
        title="nginx 1.24 → 1.26 on mobile API gateway proxy",
        justification="Same standard change as the online banking edge.",
        items=(("mobile-gateway", "gateway-proxy", "1.26.1"),),
        path=TO_VALIDATING, ref="CHG0031800", window="last_weekend",
    ),
    Spec(
        key="switch-openssl3014", requester="manager", risk="emergency", days_ago=8,
        title="OpenSSL 3.0.13 → 3.0.14 on card switch",
        justification="Security fix for a denial-of-service flaw reachable from the scheme connection.",
        items=(("card-switch", "switch-tls", "3.0.14"),), path=TO_IN_PROGRESS, ref="CHG0031850", window="now",
        comments=(("start", "implementer", "Node 1 done, draining node 2."),),
    ),
    Spec(
        key="hub-redis7", requester="manager2", risk="normal", days_ago=21,
        title="Redis 6.2 → 7.2 on payment hub cache",
        justification="Aligns the hub cache with the fraud scoring cache, upgraded earlier.",
        items=(("payments-hub", "hub-cache", "7.2.5"),), path=TO_IN_PROGRESS, ref="CHG0031821", window="now",
    ),
    # --- scheduled and approved: windows in the coming weeks ------------------------------------------------
    Spec(
        key="hub-ubuntu24", requester="manager", risk="normal", days_ago=26,
        title="Ubuntu 20.04 → 24.04 on payment hub hosts",
        justification=(
            "Second attempt after the rolled-back move to 22.04: the HSM vendor now supports 24.04, so we "
            "skip 22.04."
        ),
        items=(("payments-hub", "hub-host", "24.04"),), path=TO_SCHEDULED, ref="CHG0031795", window="ahead:1",
        comments=(
            ("submit_to_cab", "cab1", "Please attach the HSM vendor's support statement for 24.04."),
            ("approve", "manager", "Attached; rehearsal on staging passed twice."),
        ),
    ),
    Spec(
        key="k8s-130", requester="manager2", risk="normal", days_ago=19,
        title="Kubernetes 1.28 → 1.30 on the container platform",
        justification="Two minor versions, one after the other in the same window; 1.28 leaves support.",
        items=(("container-platform", "cluster", "1.30.2"),),
        path=TO_SCHEDULED, ref="CHG0031833", window="ahead:2",
    ),
    Spec(
        key="archive-tomcat", requester="manager", risk="standard", days_ago=12,
        title="Tomcat 9.0.85 → 9.0.91 on document archive",
        justification="Patch release with security fixes; standard change.",
        items=(("document-archive", "archive-app", "9.0.91"),),
        path=TO_SCHEDULED, ref="CHG0031861", window="ahead:1",
    ),
    Spec(
        key="ledger-pg16", requester="manager", risk="normal", days_ago=23,
        title="Upgrade core ledger database PostgreSQL 13 → 16",
        justification=(
            "PostgreSQL 13 reaches end of life. Payments Hub and Treasury declare >=13 <17, so 16 keeps "
            "every consumer inside its constraint."
        ),
        items=(("core-ledger", "ledger-db", "16.3"),), path=TO_APPROVED, ref="CHG0031812", window="ahead:3",
        comments=(
            ("start_assessment", "manager2", "pg_upgrade --link rehearsal on staging took 14 minutes."),
            ("submit_to_cab", "cab3", "Data Platform needs the nightly extract paused during the window."),
        ),
    ),
    Spec(
        key="treasury-win2022", requester="manager2", risk="normal", days_ago=34,
        title="Windows Server 2016 → 2022 on treasury hosts",
        justification="Windows Server 2016 is in extended support only; the treasury vendor certifies 2022.",
        items=(("treasury", "treasury-host", "2022"),),
        path=(*TO_APPROVED, "replan", "submit_to_cab", "approve"), ref="CHG0031780", window="ahead:4",
        reasons={"replan": "Month-end close moved; the approved window now collides with it."},
    ),
    Spec(
        key="broker-313", requester="manager2", risk="normal", days_ago=14,
        title="RabbitMQ 3.12 → 3.13 on the message broker",
        justification=(
            "3.12 leaves community support; 3.13 needs Erlang 26 (retry of the Erlang change first)."
        ),
        items=(("message-broker", "broker", "3.13.3"),), path=TO_APPROVED, ref="CHG0031870", window="ahead:2",
    ),
    # --- in front of the CAB --------------------------------------------------------------------------------
    Spec(
        key="web-django52", requester="manager2", risk="normal", days_ago=28,
        title="Django 4.2 → 5.2 on online banking",
        justification=(
            "Django 5.2 is the new LTS; it needs Python 3.10 or later, so the runtime moves to 3.12 in the "
            "same change."
        ),
        items=(("online-banking", "web-app", "5.2.1"), ("online-banking", "web-runtime", "3.12.3")),
        path=(*TO_CAB, "return_to_planning", "submit_to_cab"), ref="CHG0031799",
        reasons={
            "return_to_planning": (
                "Regulatory Reporting reuses the consent app (>=4.2,<5.3): show their regression run before "
                "we vote."
            ),
        },
        comments=(
            ("return_to_planning", "manager2", "Regulatory Reporting regression run on 5.2 is green."),
        ),
    ),
    Spec(
        key="hub-jdk17", requester="manager", risk="normal", days_ago=13,
        title="OpenJDK 11 → 17 on payment hub",
        justification=(
            "Java 11 support ends; Tomcat 10.1 later needs 11+ anyway, 17 is the vendor's certified LTS."
        ),
        items=(("payments-hub", "hub-jvm", "17.0.11"),), path=TO_CAB, ref="CHG0031880",
    ),
    Spec(
        key="crm-php83", requester="manager2", risk="standard", days_ago=10,
        title="PHP 8.1 → 8.3 on CRM",
        justification="PHP 8.1 security support ends.",
        items=(("crm", "crm-app", "8.3.8"),), path=TO_CAB, ref="CHG0031889",
    ),
    Spec(
        key="switch-ora1924", requester="manager", risk="normal", days_ago=9,
        title="Oracle Database 19.22 → 19.24 release update on card switch",
        justification="Two quarterly release updates behind; 19.24 fixes the listener vulnerability.",
        items=(("card-switch", "switch-db", "19.24"),), path=TO_CAB, ref="CHG0031893",
    ),
    # --- rejected, and revised ------------------------------------------------------------------------------
    Spec(
        key="web-ubuntu24", requester="manager2", risk="normal", days_ago=48,
        title="Ubuntu 20.04 → 24.04 on online banking hosts",
        justification="Ubuntu 20.04 standard support ends.",
        items=(("online-banking", "web-host", "24.04"),), path=(*TO_CAB, "reject"), ref="CHG0031690",
        reasons={"reject": "No disaster-recovery rehearsal evidence, and the window overlaps quarter-end."},
    ),
    Spec(
        key="web-ubuntu24-r", requester="manager2", risk="normal", days_ago=30,
        title="Ubuntu 20.04 → 24.04 on online banking hosts",
        justification=(
            "Ubuntu 20.04 standard support ends. Revised after the CAB rejection: DR rehearsal booked, "
            "window moved clear of quarter-end."
        ),
        path=TO_PLANNING, revises="web-ubuntu24",
        comments=(
            ("finish_assessment", "manager2", "DR rehearsal booked for next month; evidence will follow."),
        ),
    ),
    Spec(
        key="archive-mongo7", requester="manager", risk="normal", days_ago=64,
        title="MongoDB 5.0 → 7.0 on document archive",
        justification="MongoDB 5.0 is out of support.",
        items=(("document-archive", "archive-db", "7.0.11"),), path=(*TO_CAB, "reject"), ref="CHG0031601",
        reasons={"reject": "Upgrading across two major versions is not supported; go through 6.0."},
    ),
    # --- planning, assessing, drafts ------------------------------------------------------------------------
    Spec(
        key="report-pg16", requester="manager", risk="normal", days_ago=15,
        title="PostgreSQL 13 → 16 on regulatory reporting database",
        justification="Same end-of-life driver as the core ledger; follows the ledger's runbook.",
        items=(("regulatory-reporting", "report-db", "16.3"),), path=TO_PLANNING, ref="CHG0031872",
    ),
    Spec(
        key="fraud-py312", requester="manager2", risk="normal", days_ago=11,
        title="Python 3.10 → 3.12 on fraud scoring API",
        justification="The scoring model library drops 3.10; the feature-store client supports <3.13.",
        items=(("fraud-scoring", "scoring-api", "3.12.4"),), path=TO_PLANNING, ref="CHG0031884",
    ),
    Spec(
        key="erp-rhel9", requester="manager", risk="normal", days_ago=9,
        title="RHEL 7 → 9 on ERP hosts",
        justification="RHEL 7 is out of maintenance; the ERP vendor certifies RHEL 9.",
        items=(("erp", "erp-host", "9.4"),), path=("start_assessment",), ref="CHG0031895",
    ),
    Spec(
        key="hr-node22", requester="manager2", risk="standard", days_ago=6,
        title="Node.js 20 → 22 on HR portal",
        justification="Node.js 22 is the new LTS.",
        items=(("hr-portal", "hr-app", "22.3.0"),), path=("start_assessment",), ref="CHG0031901",
    ),
    Spec(
        key="report-django52", requester="manager", risk="normal", days_ago=5,
        title="Django 4.2 → 5.2 on regulatory reporting",
        justification="Follows the online banking move to the 5.2 LTS.",
        items=(("regulatory-reporting", "report-app", "5.2.1"),),
        path=("start_assessment",), ref="CHG0031903",
    ),
    Spec(
        key="crm-ubuntu24", requester="manager2", risk="normal", days_ago=4,
        title="Ubuntu 22.04 → 24.04 on CRM hosts",
        justification="Keep CRM on the newest LTS.",
        items=(("crm", "crm-host", "24.04"),), path=(), window="none",
    ),
    Spec(
        key="treasury-dotnet8", requester="manager", risk="normal", days_ago=3,
        title=".NET 6 → 8 on treasury application",
        justification=".NET 6 is out of support; the vendor's release 12 targets .NET 8.",
        items=(("treasury", "treasury-app", "8.0.6"),), path=(), ref="CHG0031910",
    ),
    Spec(
        key="k8s-nodeos", requester="manager2", risk="standard", days_ago=2,
        title="Ubuntu 22.04 → 24.04 on container platform nodes",
        items=(("container-platform", "node-os", "24.04"),), path=(), window="none",
    ),
    # --- cancelled ------------------------------------------------------------------------------------------
    Spec(
        key="dwh-pg16", requester="manager", risk="normal", days_ago=227,
        title="PostgreSQL 14 → 16 on data warehouse",
        justification="Keep the warehouse on a current major version.",
        items=(("data-warehouse", "dwh-db", "16.2"),), path=(*TO_PLANNING, "cancel"), ref="CHG0031230",
        reasons={"cancel": "Superseded: the warehouse moves to the managed data platform."},
    ),
    Spec(
        key="atm-rhel9", requester="manager2", risk="normal", days_ago=160,
        title="RHEL 8 → 9 on ATM network hosts",
        justification="RHEL 8 maintenance ends in time.",
        items=(("atm-network", "atm-host", "9.4"),), path=("cancel",),
        reasons={"cancel": "The ATM software vendor has not certified RHEL 9 yet."},
    ),
    Spec(
        key="dwh-py312", requester="manager", risk="normal", days_ago=75,
        title="Python 3.10 → 3.12 on data warehouse ETL",
        justification="Newer pandas releases need 3.11+.",
        items=(("data-warehouse", "dwh-etl", "3.12.4"),), path=(*TO_CAB, "cancel"), ref="CHG0031588",
        reasons={"cancel": "Postponed until Fraud Scoring confirms the shared client on 3.12."},
    ),
]
