"""The custom resource handler: the Lambda asset's code.

The folder is `lambda/` (a Python keyword, so never imported by that name); everywhere else its one name is
`ccs_handler`: the wheel's subpackage `cross_cluster_search.ccs_handler` (so the construct shares its contract
and rules) and the asset's top-level package `ccs_handler`, with `ccs_handler.index.handler` as the Lambda
handler. Modules import each other relatively, so both placements work.
"""
