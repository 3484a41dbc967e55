-- Roll-ups along the gazetteer (district → city → province → 全国): for each parent region, indicator
-- (coded series only), kind, unit and year, the sum of its children's agreeing counts and amounts, how many
-- children report it out of how many the gazetteer lists (`complete` when all do), and the value
-- the parent states itself, if any.
with children as (
    select r.parent as region, v.series, v.indicator, v.kind, v.unit, v.year,
           sum(v.value) as children_sum,
           count(*) as n_children_reported,
           list(v.region order by v.region) as children
    from v_indicator_values v
    join regions r on r.region = v.region
    where v.agree and v.keyed_by = 'indicator' and v.kind in ('count', 'amount') and r.parent is not null
    group by all
)
select
    c.region,
    p.level,
    c.series,
    c.indicator,
    c.kind,
    c.unit,
    c.year,
    c.children_sum,
    c.n_children_reported,
    p.n_children,
    c.n_children_reported = p.n_children as complete,
    c.children,
    s.value as stated_value,
    s.agree as stated_agree
from children c
join regions p on p.region = c.region
left join v_indicator_values s
  on s.region = c.region and s.series = c.series and s.kind = c.kind
 and s.unit is not distinct from c.unit and s.year = c.year
