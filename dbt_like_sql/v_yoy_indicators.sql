-- Year over year, one stop: every value of v_indicator_values with the previous year's value and
-- the change computed from them (agreeing statements only), the change the articles stated
-- (同比, in % where given), the previous level that change implies, and whether stated and
-- computed agree.
select
    v.region,
    v.indicator,
    v.series,
    v.keyed_by,
    v.kind,
    v.unit,
    v.year,
    v.value,
    v.agree,
    c.previous_value,
    c.change,
    c.change_pct,
    s.stated_change as stated_yoy_change,
    s.change_unit as stated_change_unit,
    i.implied_previous_value,
    k.consistent as stated_matches_computed,
    v.n_statements,
    v.quote as example_quote,
    v.source_file as example_source
from v_indicator_values v
left join v_yoy_computed c
  on c.region = v.region and c.series = v.series and c.kind = v.kind
 and c.unit is not distinct from v.unit and c.year = v.year
left join v_yoy_stated s
  on s.region = v.region and s.series = v.series and s.year = v.year
 and (s.change_unit = '%' or (s.change_unit = '个百分点' and v.kind = 'rate') or (s.change_unit = v.unit and v.kind <> 'rate'))
left join v_yoy_implied i
  on i.region = v.region and i.series = v.series and i.kind = v.kind
 and i.unit is not distinct from v.unit and i.year = v.year and i.change_unit = s.change_unit
left join v_yoy_consistency k
  on k.region = v.region and k.series = v.series and k.kind = v.kind
 and k.unit is not distinct from v.unit and k.year = v.year and k.change_unit = s.change_unit
