-- Issue 13, the rule table: every row names its source (clause, edition date), rows judge a subject (raw milk or a
-- product category), antibiotic rapid screens are their own kind (a positive is suspect until confirmed), and a
-- sample may confirm another. The versions shipped before this migration are withdrawn, not edited: their rows stay
-- for the verdicts that name them, they are never in force again (see docs/audits.md, "The rule table").
alter table quality_rule
    add column subject      text not null default 'raw_milk'
        check (subject in ('raw_milk', 'pasteurised_milk', 'sterilised_milk', 'modified_milk', 'fermented_milk', 'milk_powder', 'cheese', 'cream')),
    add column clause       text not null default '',
    add column edition_date text not null default '',
    add column withdrawn    text null;
alter table quality_rule drop constraint quality_rule_kind_check;
alter table quality_rule add constraint quality_rule_kind_check check (kind in ('numeric', 'qualitative', 'screen', 'recorded'));
drop index quality_rule_in_force;
create index quality_rule_in_force on quality_rule (subject, species, effective_from);

update quality_rule set withdrawn =
    'issue 13: effective 2010-12-01 (the standard took effect 2010-06-01); heavy metals and nitrite recorded although GB 2762 '
    || 'limited them throughout; cow freezing-point range applied to goats; monitoring-plan rows labelled GB 19301; '
    || 'antibiotic screens final'
where rule_version in ('GB19301-2010', 'GB19301-2010+A1:2025', 'GB19301-2010+A1:2025;GB2762-2025', 'GB19301-2010;GB2762-2025');

alter table quality_result drop constraint quality_result_verdict_check;
alter table quality_result add constraint quality_result_verdict_check check (verdict in ('pass', 'fail', 'suspect', 'not_judged'));
alter table quality_result
    add column product_category text null,
    add column verdict_reason   text null,
    add column confirms         text null;
create index quality_result_confirms on quality_result (confirms) where confirms is not null;
