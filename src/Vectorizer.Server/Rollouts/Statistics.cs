namespace Vectorizer.Server.Rollouts;

/// <summary>A two-proportion z-test of a variant's rate against the control's.</summary>
/// <param name="Difference">Variant rate minus control rate.</param>
/// <param name="Z">The z statistic (pooled standard error).</param>
/// <param name="PValue">Two-sided p-value; null when the test is undefined (no trials, or no variance).</param>
/// <param name="Low">Lower end of the 95 % confidence interval of the difference (unpooled standard error).</param>
/// <param name="High">Upper end of that interval.</param>
public sealed record ZTest(double Difference, double? Z, double? PValue, double Low, double High);

public static class Statistics
{
    private const double Z95 = 1.959963984540054;

    /// <summary>
    /// Successes <paramref name="x0"/> of <paramref name="n0"/> trials (control) against <paramref name="x1"/> of
    /// <paramref name="n1"/> (variant): z = (p1 − p0) / √(p̂(1 − p̂)(1/n0 + 1/n1)) with the pooled p̂, p = 2(1 − Φ(|z|)).
    /// </summary>
    public static ZTest? TwoProportion(long x0, long n0, long x1, long n1)
    {
        if (n0 <= 0 || n1 <= 0)
        {
            return null;
        }

        x0 = Math.Clamp(x0, 0, n0);
        x1 = Math.Clamp(x1, 0, n1);
        var p0 = (double)x0 / n0;
        var p1 = (double)x1 / n1;
        var difference = p1 - p0;
        var pooled = (double)(x0 + x1) / (n0 + n1);
        var se = Math.Sqrt(pooled * (1 - pooled) * ((1.0 / n0) + (1.0 / n1)));
        var unpooled = Math.Sqrt((p0 * (1 - p0) / n0) + (p1 * (1 - p1) / n1));
        double? z = se > 0 ? difference / se : null;
        double? p = z is { } value ? Erfc(Math.Abs(value) / Math.Sqrt(2)) : null;
        return new ZTest(difference, z, p, difference - (Z95 * unpooled), difference + (Z95 * unpooled));
    }

    /// <summary>
    /// The complementary error function, by W. J. Cody's rational approximations (as in his CALERF), accurate to about
    /// 1e-15 relative; .NET has no <c>Math.Erfc</c> and one function did not justify a numerics package.
    /// </summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        var ax = Math.Abs(x);
        double result;
        if (ax < 0.5)
        {
            double[] a = [3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1];
            double[] b = [2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03];
            var y = ax;
            var z = y > 1.11e-16 ? y * y : 0;
            var xnum = a[4] * z;
            var xden = z;
            for (var i = 0; i < 3; i++)
            {
                xnum = (xnum + a[i]) * z;
                xden = (xden + b[i]) * z;
            }

            var erf = x * (xnum + a[3]) / (xden + b[3]);
            return 1 - erf;
        }

        if (ax <= 4)
        {
            double[] c = [5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8];
            double[] d = [1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03];
            var xnum = c[8] * ax;
            var xden = ax;
            for (var i = 0; i < 7; i++)
            {
                xnum = (xnum + c[i]) * ax;
                xden = (xden + d[i]) * ax;
            }

            result = (xnum + c[7]) / (xden + d[7]);
        }
        else
        {
            if (ax >= 26.55)
            {
                return x > 0 ? 0 : 2;
            }

            double[] p = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2];
            double[] q = [2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3];
            const double SqrPi = 5.6418958354775628695e-1;
            var z = 1 / (ax * ax);
            var xnum = p[5] * z;
            var xden = z;
            for (var i = 0; i < 4; i++)
            {
                xnum = (xnum + p[i]) * z;
                xden = (xden + q[i]) * z;
            }

            result = z * (xnum + p[4]) / (xden + q[4]);
            result = (SqrPi - result) / ax;
        }

        // exp(-x²) computed in two parts to keep precision.
        var ysq = Math.Truncate(ax * 16) / 16;
        var del = (ax - ysq) * (ax + ysq);
        result = Math.Exp(-ysq * ysq) * Math.Exp(-del) * result;
        return x < 0 ? 2 - result : result;
    }
}
