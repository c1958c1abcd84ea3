package ec2api

// getCallerIdentity serves STS GetCallerIdentity (docs/ec2-api.md §5.8).
// ebsd's credentials name an account and no user, so the caller is the
// account's root principal, which AWS reports as arn:aws:iam::ACCT:root
// with the account ID as its UserId. The answer is awsQuery's: members in
// a GetCallerIdentityResult, the request ID in ResponseMetadata.
func (h *Handler) getCallerIdentity(c *call) ([]byte, error) {
	d := &xmlDoc{b: make([]byte, 0, 512)}
	d.b = append(d.b, xmlHeader...)
	d.b = append(d.b, `<GetCallerIdentityResponse xmlns="`...)
	d.b = append(d.b, nsSTS...)
	d.b = append(d.b, `">`...)
	d.open("GetCallerIdentityResult")
	d.text("Arn", "arn:aws:iam::"+c.account+":root")
	d.text("UserId", c.account)
	d.text("Account", c.account)
	d.close("GetCallerIdentityResult")
	d.open("ResponseMetadata")
	d.text("RequestId", c.id)
	d.close("ResponseMetadata")
	d.close("GetCallerIdentityResponse")
	return d.b, nil
}
