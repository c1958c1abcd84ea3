package ec2api

// optInStatus is what AWS shows of a region every account may use.
const optInStatus = "opt-in-not-required"

// describeRegions serves DescribeRegions (docs/ec2-api.md §5.7): the one
// region the server serves, with the Host the client addressed as its
// endpoint, so that a client building URLs from it stays with ebsd.
// RegionName.N must name that region; filters select it or not.
func (h *Handler) describeRegions(c *call) ([]byte, error) {
	for _, name := range c.form.strings("RegionName") {
		if name != h.region {
			return nil, wireErr(fInvalidParameterValue, "Invalid region: %s; this endpoint serves %s only.", echo(name), h.region)
		}
	}
	if _, err := boolParam(c.form, "AllRegions"); err != nil {
		return nil, err
	}
	filters, err := parseFilters(c.form)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{"endpoint": c.host, "opt-in-status": optInStatus, "region-name": h.region}
	listed := true
	for _, f := range filters {
		v, ok := fields[f.name]
		if !ok {
			return nil, errUnknownFilter(f.name)
		}
		listed = listed && matchAny(f.pats, v)
	}
	if c.dryRun {
		return nil, errDryRun()
	}
	d := ec2Response("DescribeRegions", c.id)
	d.open("regionInfo")
	if listed {
		d.open("item")
		d.text("regionName", h.region)
		d.text("regionEndpoint", c.host)
		d.text("optInStatus", optInStatus)
		d.close("item")
	}
	d.close("regionInfo")
	return d.end("DescribeRegions"), nil
}
