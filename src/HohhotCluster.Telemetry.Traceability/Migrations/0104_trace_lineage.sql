-- The precomputed lineage of every product lot (issue 17): one row per lot upstream of it (silo batches, receipts,
-- tanker loads, bulk-tank lots), with the shortest number of edges between them and the kg of the product's milk that
-- came from that lot (the milk of an edge passed on in proportion, as trace forward's shares: a lot passes on to each
-- child the fraction of its own inflow that went there). Owned by ChainLineage alone: kept current in the same
-- transaction as every edge write or retraction (ChainStore, EpcisImporter), rebuilt set-wise after a bulk load.
-- Trace back from a product lot reads its upstream lots here in one index range instead of walking the edges.
create table trace_lineage (
    product  bigint not null,
    ancestor bigint not null,
    depth    smallint not null,
    kg       double precision not null,
    primary key (product, ancestor)
);

-- The lineage of the chain already stored: every product lot with in-edges, walked up (at most 12 edges, the default
-- Traceability:MaxTraceDepth). The same walk as ChainLineage.RefreshSql.
insert into trace_lineage (product, ancestor, depth, kg)
with recursive up(product, id, amount, depth) as (
    select e.child, e.parent, e.kg, 1
    from trace_edge e join trace_lot p on p.id = e.child and p.kind = 'product'
    union all
    select u.product, e.parent, coalesce(e.kg * u.amount / nullif(i.inflow, 0), 0), u.depth + 1
    from up u
    cross join lateral (select sum(x.kg) as inflow from trace_edge x where x.child = u.id) i
    join trace_edge e on e.child = u.id
    where u.depth < 12)
select product, id, min(depth), sum(amount) from up where id <> product group by product, id;
