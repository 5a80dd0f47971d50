"""The custom resource handler: the Lambda asset's code.

In the wheel it is the private subpackage `cross_cluster_search._handler` (so the construct shares its
contract and rules); the provider bundles these modules into the asset as the package `ccs_handler`, with
`ccs_handler.index.handler` as the Lambda handler. Modules import each other relatively, so both names work.
"""
