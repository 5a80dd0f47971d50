"""`make deploy-local`: the sample app's connection lifecycle against the emulator, offline.

Usage: python -m ccs_offline.deploy [CDK_OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

from ccs_offline.assembly import load_assembly
from ccs_offline.emulator import ConnectionStore, Delays
from ccs_offline.local_cloudformation import Response
from ccs_offline.world import offline, seed_domains


def _show(step: str, responses: list[Response]) -> None:
    """Print each response CloudFormation received during a step (cleanup Deletes included)."""
    for response in responses:
        detail = f" reason={response.reason!r}" if response.reason else ""
        print(
            f"  {step:<8} {response.request_type:<6} {response.logical_id}: {response.status} "
            f"physical id={response.physical_id} in {response.latency:.2f} s{detail}"
        )


def main(argv: list[str]) -> int:
    """Deploy, show outputs, update in place, replace, delete; exit 1 if anything is off."""
    cdk_out = Path(argv[1] if len(argv) > 1 else "cdk.out")
    failures = 0
    for stack in load_assembly(cdk_out):
        resources = [d.logical_id for d in stack.custom_resources()]
        if not resources:
            continue
        store = ConnectionStore(Delays(validating=1.0, provisioning=1.0, deleting=1.0))
        print(
            f"Stack {stack.name} (account {stack.account}, the offline world's, not yours; region {stack.region}): "
            "offline emulator, the bundled handler under AWS's Lambda runtime interface client"
        )
        for line in seed_domains(store, stack):
            print(f"  domain   {line}")
        with offline(stack, store) as world:
            cfn = world.cloudformation
            created = cfn.deploy()
            _show("create", cfn.history)
            failures += sum(not r.ok for r in created)
            print("  Outputs:", ", ".join(f"{k}={v}" for k, v in cfn.outputs().items()))
            for logical_id in list(cfn.deployed):
                held = cfn.deployed[logical_id]
                old_timeout = held.properties.get("TimeoutSeconds", "600")
                timeout = str(int(old_timeout) - 60)
                in_place = cfn.update(logical_id, {"TimeoutSeconds": timeout})
                print(
                    f"  in-place update of {logical_id}: TimeoutSeconds {old_timeout} -> {timeout}, same connection "
                    f"{in_place.physical_id}: {in_place.status} in {in_place.latency:.2f} s"
                )
                old_alias = held.properties.get("ConnectionAlias", "demo")
                seen = len(cfn.history)
                replaced = cfn.update(logical_id, {"ConnectionAlias": old_alias + "-v2"})
                print(
                    f"  replacement of {logical_id}: ConnectionAlias {old_alias} -> {old_alias}-v2 needs a new "
                    f"connection, {replaced.physical_id}: {replaced.status} in {replaced.latency:.2f} s"
                )
                for cleanup in cfn.history[seen + 1 :]:
                    print(
                        f"  CloudFormation's cleanup Delete of the old connection {cleanup.physical_id}: "
                        f"{cleanup.status} in {cleanup.latency:.2f} s"
                    )
                failures += (not in_place.ok) + (not replaced.ok)
                failures += in_place.physical_id != held.physical_id
            print("  Outputs:", ", ".join(f"{k}={v}" for k, v in cfn.outputs().items()))
            deleted = cfn.destroy()
            _show("delete", deleted)
            failures += sum(not r.ok for r in deleted)
            left = world.store.live()
            print(f"  Connections left that are not DELETED: {len(left)}; API calls: {len(world.store.calls)}")
            failures += len(left)
    print("OK: the lifecycle ran cleanly" if failures == 0 else f"FAILED: {failures} problem(s)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
