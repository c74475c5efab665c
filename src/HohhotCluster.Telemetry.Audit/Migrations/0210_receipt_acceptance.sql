-- Whether a plant receipt (trace_lot kind 'receipt') was accepted: the one place the rule lives. The KPIs read it for
-- milk processed (accepted receipts only) and milk sent back (rejected receipts); mass balance applies the same rule.
-- Plant practice (../shared/brief/domain.md): a load that fails its acceptance test is rejected (sent back), and
-- processed milk is accepted milk. So a receipt is rejected when
--   * the weighbridge refused it (its stored accepted is false, e.g. the tanker arrived too warm), or
--   * a plant_acceptance quality result of its tanker load (lot kind tanker_load, lot id = the receipt's lot id),
--     or of the receipt itself, failed or is a suspect (a positive rapid screen: a plant sends the load back on the
--     screen; the confirmation decides the supervisory verdict, not the plant's acceptance).
-- A stored accepted of null (a receipt imported without a disposition) counts as accepted unless a test failed.
-- The species is the receiving plant's (a goat-milk plant takes goat milk); the local day is China Standard Time.
create view receipt_acceptance as
select r.id                                                   as receipt_lot,
       r.lot_id,
       r.plant_id,
       p.county_id,
       coalesce(p.species, 'cow')                             as species,
       coalesce(r.kg, 0)                                      as kg,
       r.at,
       (r.at at time zone 'Asia/Shanghai')::date              as local_date,
       r.accepted                                             as weighbridge_accepted,
       f.failed_samples,
       coalesce(r.accepted, true) and f.failed_samples is null as accepted,
       case
           when r.accepted is false then 'refused_at_weighbridge'
           when f.failed_samples is not null then 'failed_acceptance_test'
       end                                                    as rejection_reason
from trace_lot r
left join plant p on p.id = r.plant_id
left join lateral (
    select array_agg(q.sample_id order by q.sample_id) as failed_samples
    from quality_result q
    where q.lot_kind in ('tanker_load', 'receipt') and q.lot_id = r.lot_id
      and q.sample_kind = 'plant_acceptance' and q.verdict in ('fail', 'suspect')
    having count(*) > 0
) f on true
where r.kind = 'receipt';
